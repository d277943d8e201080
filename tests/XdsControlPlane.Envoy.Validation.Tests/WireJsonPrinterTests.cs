using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Envoy.Type.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using XdsControlPlane.Envoy.Validation.Json;
using XdsControlPlane.Testing;
using Filter = Envoy.Config.Listener.V3.Filter;
using RetryPolicy = Envoy.Config.Route.V3.RetryPolicy;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;

namespace XdsControlPlane.Envoy.Validation.Tests;

/// <summary>
/// <see cref="WireJsonPrinter"/> prints from a message's bytes the JSON Google.Protobuf's formatter
/// (<see cref="EnvoyTypeCatalog.JsonFormatter"/>) prints for the parsed message — the same names, order, numbers and
/// strings (both are compared after one JSON writer rewrote them, which keeps numbers' text) — and declines what it
/// would print differently.
/// </summary>
public sealed class WireJsonPrinterTests
{
    [TestCaseSource(typeof(EnvoyTypeCatalogTests), nameof(EnvoyTypeCatalogTests.EnvoyTypes))]
    public void TryFormat_EnvoyType_PrintsAsTheFormatterDoes(IMessage message, string typeUrl) => AssertPrintsAsFormatter(message);

    private static IEnumerable<TestCaseData> EdgeCases()
    {
        TestCaseData Case(string name, IMessage message) => new TestCaseData(message).SetArgDisplayNames(name);

        yield return Case("oneof member at its default is printed", new Cluster { Name = "c", Type = Cluster.Types.DiscoveryType.Static });
        yield return Case("proto3 scalar at its default is left out", new Cluster { Name = "c", LbPolicy = Cluster.Types.LbPolicy.RoundRobin });
        yield return Case("enum by name", new Cluster { Name = "c", LbPolicy = Cluster.Types.LbPolicy.LeastRequest });
        yield return Case("enum number without a name", new Cluster { Name = "c", LbPolicy = (Cluster.Types.LbPolicy)42 });
        yield return Case("wrapper at zero is printed", new Cluster { Name = "c", PerConnectionBufferLimitBytes = 0 });
        yield return Case("empty message is printed", new Cluster { Name = "c", CommonLbConfig = new Cluster.Types.CommonLbConfig() });
        yield return Case("double", new Cluster { CommonLbConfig = new() { HealthyPanicThreshold = new Percent { Value = 0.1 } } });
        yield return Case("large double", new Cluster { CommonLbConfig = new() { HealthyPanicThreshold = new Percent { Value = 1e21 } } });
        yield return Case("NaN", new Cluster { CommonLbConfig = new() { HealthyPanicThreshold = new Percent { Value = double.NaN } } });
        yield return Case("negative infinity", new Cluster { CommonLbConfig = new() { HealthyPanicThreshold = new Percent { Value = double.NegativeInfinity } } });
        yield return Case("int64 as strings", new HeaderMatcher { Name = "n", RangeMatch = new Int64Range { Start = -5, End = long.MaxValue } });
        yield return Case("negative int32", new Int32Range { Start = int.MinValue, End = -1 });
        yield return Case("bytes in base64", new DataSource { InlineBytes = ByteString.CopyFrom(0, 1, 254, 255) });
        yield return Case("string escapes and non-ASCII", new DataSource { InlineString = "a\"b\\c\n\u0001<>&'é😀\u2028" });
        yield return Case("packed repeated", new RetryPolicy { RetriableStatusCodes = { 503, 0, 429 } });
        yield return Case("durations", new Cluster
        {
            ConnectTimeout = new Duration { Seconds = 1, Nanos = 500_000_000 },
            DnsRefreshRate = new Duration { Seconds = -1, Nanos = -1_000 },
            CleanupInterval = new Duration { Nanos = -1 },
            WaitForWarmOnInit = false,
        });
        yield return Case("struct metadata", new Cluster
        {
            Name = "c",
            Metadata = new Metadata
            {
                FilterMetadata =
                {
                    ["b"] = Struct.Parser.ParseJson("""{"n": 1.5, "s": "x", "t": true, "z": null, "l": [1, "two", [], {}], "o": {"p": -0.0}}"""),
                    ["a"] = new Struct(),
                },
            },
        });
        yield return Case("map of Any, well-known types packed", new Cluster
        {
            Name = "c",
            TypedExtensionProtocolOptions =
            {
                ["duration"] = Any.Pack(new Duration { Seconds = 3 }),
                ["timestamp"] = Any.Pack(new Timestamp { Seconds = 1_700_000_000, Nanos = 1_000 }),
                ["wrapper"] = Any.Pack(new UInt32Value { Value = 7 }),
                ["int64 wrapper"] = Any.Pack(new Int64Value()),
                ["empty"] = Any.Pack(new Empty()),
                ["value"] = Any.Pack(Value.ForNumber(2)),
                ["any in any"] = Any.Pack(Any.Pack(new Router { SuppressEnvoyHeaders = true })),
            },
        });
        yield return Case("per-filter config", new VirtualHost
        {
            Name = "v",
            Domains = { "*" },
            TypedPerFilterConfig = { ["envoy.filters.http.ext_authz"] = Any.Pack(new global::Envoy.Extensions.Filters.Http.ExtAuthz.V3.ExtAuthzPerRoute { Disabled = true }) },
        });
    }

    [TestCaseSource(nameof(EdgeCases))]
    public void TryFormat_EdgeCase_PrintsAsTheFormatterDoes(IMessage message) => AssertPrintsAsFormatter(message);

    [Test]
    public void TryFormat_FieldsWrittenOutOfOrder_PrintsInFieldNumberOrder()
    {
        var bytes = Concat(new Cluster { ConnectTimeout = new Duration { Seconds = 2 } }, new Cluster { Name = "late" });

        AssertBytesPrintAsFormatter(Cluster.Descriptor, bytes);
    }

    [Test]
    public void TryFormat_UnknownField_IsLeftOut()
    {
        var bytes = Concat(new Cluster { Name = "c" }, new Int32Range { Start = 0 }).Concat(new byte[] { 0xF8, 0x3E, 0x01 }).ToArray(); // field 1000, varint 1

        AssertBytesPrintAsFormatter(Cluster.Descriptor, bytes);
    }

    [Test]
    public void TryFormat_RepeatedFieldInSeveralRuns_PrintsOneList()
    {
        var bytes = Concat(
            new RouteConfiguration { VirtualHosts = { new VirtualHost { Name = "a" } } },
            new RouteConfiguration { Name = "r" },
            new RouteConfiguration { VirtualHosts = { new VirtualHost { Name = "b" } } });

        AssertBytesPrintAsFormatter(RouteConfiguration.Descriptor, bytes);
    }

    private static IEnumerable<TestCaseData> Declined()
    {
        TestCaseData Case(string name, string typeName, byte[] bytes) => new TestCaseData(typeName, bytes).SetArgDisplayNames(name);

        // A parser merges these (the last scalar, the merged message, the last oneof member): left to Google.Protobuf.
        yield return Case("a singular field twice", "envoy.config.cluster.v3.Cluster", Concat(new Cluster { Name = "a" }, new Cluster { Name = "b" }));
        yield return Case("two members of one oneof", "envoy.config.cluster.v3.Cluster",
            Concat(new Cluster { Type = Cluster.Types.DiscoveryType.Eds }, new Cluster { ClusterType = new Cluster.Types.CustomClusterType { Name = "x" } }));
        yield return Case("truncated", "envoy.config.cluster.v3.Cluster", new Cluster { Name = "abc" }.ToByteArray()[..^1]);
        yield return Case("a type not in the schema", "example.Unknown", new Cluster { Name = "a" }.ToByteArray());
        yield return Case("an Any of a type not in the schema", "envoy.config.listener.v3.Filter",
            new Filter { Name = "f", TypedConfig = new Any { TypeUrl = "type.googleapis.com/example.Unknown" } }.ToByteArray());
        yield return Case("a duration out of range", "google.protobuf.Duration", new Duration { Seconds = Duration.MaxSeconds + 1 }.ToByteArray());
    }

    [TestCaseSource(nameof(Declined))]
    public void TryFormat_BytesItWouldPrintDifferently_Declines(string typeName, byte[] bytes)
    {
        Assert.That(WireJsonPrinter.TryFormat(typeName, bytes, out var json), Is.False, json);
    }

    [Test]
    public void TryFormatTypeUrl_TypeUrl_PrintsTheNamedType()
    {
        var cluster = new Cluster { Name = "c" };

        Assert.Multiple(() =>
        {
            Assert.That(WireJsonPrinter.TryFormatTypeUrl("type.googleapis.com/envoy.config.cluster.v3.Cluster", cluster.ToByteArray(), out var json), Is.True);
            Assert.That(JsonCanonical.Of(json!), Is.EqualTo(JsonCanonical.Of(EnvoyTypeCatalog.JsonFormatter.Format(cluster))));
            Assert.That(WireJsonPrinter.TryFormatTypeUrl("envoy.config.cluster.v3.Cluster", cluster.ToByteArray(), out _), Is.False, "no '/': no type name");
        });
    }

    private static void AssertPrintsAsFormatter(IMessage message) => AssertBytesPrintAsFormatter(message.Descriptor, message.ToByteArray());

    private static void AssertBytesPrintAsFormatter(Google.Protobuf.Reflection.MessageDescriptor descriptor, byte[] bytes)
    {
        var expected = EnvoyTypeCatalog.JsonFormatter.Format(descriptor.Parser.ParseFrom(bytes));

        Assert.That(WireJsonPrinter.TryFormat(descriptor.FullName, bytes, out var json), Is.True, "declined");
        Assert.That(JsonCanonical.Of(json!), Is.EqualTo(JsonCanonical.Of(expected)));
    }

    private static byte[] Concat(params IMessage[] parts) => [.. parts.SelectMany(p => p.ToByteArray())];
}
