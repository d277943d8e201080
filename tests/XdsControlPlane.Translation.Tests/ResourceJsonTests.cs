using System.Text.Json;
using Envoy.Config.Cluster.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Envoy.Validation.Json;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// <see cref="ResourceJson"/> (what render and <c>/debug/snapshot</c> print resources with) prints what the catalog's
/// formatter over every Envoy type prints: the descriptor-free printer handles every resource translation makes, Any-packed
/// filters, transport sockets and protocol options included, and anything it declines is printed by the formatter.
/// </summary>
public sealed class ResourceJsonTests
{
    [TestCaseSource(typeof(GoldenTests), nameof(GoldenTests.Cases))]
    public void WirePrinter_EveryTranslatedResource_PrintsAsTheCatalogDoes(string caseName)
    {
        var resources = TranslatedWithSecret(caseName).ToList();
        Assert.That(resources, Is.Not.Empty);
        foreach (var resource in resources)
        {
            // The printer alone: no fallback hides a resource it declines.
            Assert.That(WireJsonPrinter.TryFormatTypeUrl(resource.TypeUrl, resource.Packed.Value.Span, out var json), Is.True, $"{resource} declined");
            Assert.That(JsonCanonical.Of(json!), Is.EqualTo(JsonCanonical.Of(EnvoyTypeCatalog.JsonFormatter.Format(resource.Message))), resource.ToString());
        }
    }

    [Test]
    public void TypedConfigs_EveryTypeTranslationPacks_IsInTheTable()
    {
        // A type missing from the table would still pack (by Google.Protobuf), building the descriptors render avoids.
        var packed = GoldenTests.Cases.SelectMany(TranslatedWithSecret)
            .SelectMany(r => TypeUrlsIn(JsonDocument.Parse(EnvoyTypeCatalog.JsonFormatter.Format(r.Message)).RootElement))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Multiple(() =>
        {
            Assert.That(packed, Is.Not.Empty);
            Assert.That(packed.Where(url => !TypedConfigs.Known.Values.Contains(url)), Is.Empty);
        });
    }

    private static IEnumerable<string> TypeUrlsIn(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => p.Name == "@type" ? [p.Value.GetString()!] : TypeUrlsIn(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(TypeUrlsIn),
        _ => [],
    };

    [Test]
    public void Format_BytesThePrinterDeclines_PrintsAsTheCatalogDoes()
    {
        // A cluster whose bytes set connect_timeout twice: a parser merges them, the printer declines, the formatter prints.
        var bytes = new Cluster { Name = "merged", ConnectTimeout = new Duration { Seconds = 1 } }.ToByteArray()
            .Concat(new Cluster { ConnectTimeout = new Duration { Nanos = 5 } }.ToByteArray()).ToArray();
        var cluster = Cluster.Parser.ParseFrom(bytes);
        var resource = XdsResource.CreateAssembled(cluster, ByteString.CopyFrom(bytes), "v1", ResourceReferences.None);

        var json = ResourceJson.Format(resource);

        Assert.Multiple(() =>
        {
            Assert.That(WireJsonPrinter.TryFormatTypeUrl(resource.TypeUrl, bytes, out _), Is.False);
            Assert.That(JsonCanonical.Of(json), Is.EqualTo(JsonCanonical.Of(EnvoyTypeCatalog.JsonFormatter.Format(cluster))));
            Assert.That(json, Does.Contain("1.000000005s"));
        });
    }

    /// <summary>A case's resources, the gateway's with its HTTPS certificate's Secret as the server adds it.</summary>
    private static IEnumerable<XdsResource> TranslatedWithSecret(string caseName) =>
        GoldenTests.TranslateCase(caseName).Groups
            .SelectMany(g => g.Key == DataPlaneRoles.Gateway ? GatewayTlsSecret.Complete(g.Value, GoldenTests.TestSecret.Value) : g.Value);
}
