using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using static XdsControlPlane.Xds.Tests.AdsTestClient;
using ExtAuthz = Envoy.Extensions.Filters.Http.ExtAuthz.V3.ExtAuthz;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// The table of resource types (<see cref="XdsResourceTypes"/>) decides what differs by type: each test takes its
/// expectation from the entries, so a new entry is covered by adding its <see cref="Sample"/>.
/// </summary>
public sealed class ResourceTypeTableTests
{
    private static readonly string[] SampleNames = ["a", "b"];

    private static IEnumerable<XdsResourceType> Types => XdsResourceTypes.All;

    [Test]
    public void Table_EachEntry_IsNamedByItsMessageAndFoundByUrlAndMessage()
    {
        foreach (var type in Types)
        {
            var sample = Sample(type.TypeUrl, "a", variant: 1);
            Assert.Multiple(() =>
            {
                Assert.That(type.TypeUrl, Is.EqualTo("type.googleapis.com/" + type.Descriptor.FullName));
                Assert.That(type.ClrType, Is.EqualTo(type.Descriptor.ClrType));
                Assert.That(type.Parser.ParseFrom(sample.Packed.Value), Is.EqualTo(sample.Message));
                Assert.That(XdsResourceTypes.Find(type.TypeUrl), Is.SameAs(type));
                Assert.That(XdsResourceTypes.Find(sample.Message), Is.SameAs(type));
                Assert.That((sample.TypeUrl, sample.Name), Is.EqualTo((type.TypeUrl, "a")));
                Assert.That(TypeUrls.ShortName(type.TypeUrl), Is.EqualTo(type.ShortName));
            });
        }

        Assert.That(new[] { TypeUrls.Listener, TypeUrls.ScopedRouteConfiguration, TypeUrls.RouteConfiguration, TypeUrls.Cluster, TypeUrls.ClusterLoadAssignment, TypeUrls.Secret }.Select(XdsResourceTypes.Find), Is.All.Not.Null);
    }

    [Test]
    public void PushOrder_IsTheOrderOfTheEntries()
    {
        Assert.That(TypeUrls.PushOrder, Is.EqualTo(Types.Select(t => t.TypeUrl)));
        Assert.That(Types.Select(t => t.PushOrder), Is.EqualTo(Enumerable.Range(0, Types.Count())));
    }

    [Test]
    public void Consistency_EachDeclaredReference_IsCheckedWithItsVerb()
    {
        Assert.That(SnapshotConsistency.Check(SampleSnapshot(variant: 1)), Is.Empty, "the samples are consistent");
        foreach (var type in Types)
        {
            foreach (var reference in type.References)
            {
                var without = Snapshot.Create(Types.Where(t => t.TypeUrl != reference.TypeUrl).SelectMany(t => SampleNames.Select(n => Sample(t.TypeUrl, n, variant: 1))));

                Assert.That(
                    SnapshotConsistency.Check(without),
                    Has.Some.EqualTo($"{type.ShortName} 'a' {reference.Verb} {TypeUrls.ShortName(reference.TypeUrl)} 'a', which the snapshot does not contain."),
                    $"{type.ShortName} → {TypeUrls.ShortName(reference.TypeUrl)}");
            }
        }
    }

    [Test]
    public async Task Sotw_PushAfterOneResourceChanged_CarriesTheFullSetExactlyForFullSetTypes()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(SampleSnapshot(variant: 1));
        await using var client = Open(server.Channel);
        var first = new Dictionary<string, DiscoveryResponseNames>();
        foreach (var type in Types)
        {
            var response = await client.RequestAsync(type.TypeUrl, SampleNames);
            first[type.TypeUrl] = new(response.TypeUrl, Names(response));
            await client.AckAsync(response, SampleNames);
        }

        // Every type's resource 'a' changes, 'b' does not: pushed in the table's order, with 'b' only where the full set is due.
        server.Publish(Snapshot.Create(Types.SelectMany(t => new[] { Sample(t.TypeUrl, "a", variant: 2), Sample(t.TypeUrl, "b", variant: 1) })));
        var pushed = new List<DiscoveryResponseNames>();
        foreach (var _ in Types)
        {
            var response = await client.ReceiveAsync();
            pushed.Add(new(response.TypeUrl, Names(response)));
        }

        Assert.Multiple(() =>
        {
            Assert.That(first.Values.Select(r => r.Names), Is.All.EqualTo(SampleNames), "first responses answer the request");
            Assert.That(pushed.Select(r => r.TypeUrl), Is.EqualTo(Types.Select(t => t.TypeUrl)), "push order");
            Assert.That(pushed.Select(r => r.Names), Is.EqualTo(Types.Select(t => t.SotwFullSet ? SampleNames : new[] { "a" })), "full set");
        });
    }

    [Test]
    public async Task Sotw_EmptyFirstRequest_SubscribesToAllExactlyForFullSetTypes()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(SampleSnapshot(variant: 1));
        await using var client = Open(server.Channel);
        var answered = new List<string[]>();
        foreach (var type in Types)
        {
            answered.Add(Names(await client.RequestAsync(type.TypeUrl)));
        }

        Assert.That(answered, Is.EqualTo(Types.Select(t => t.SotwFullSet ? SampleNames : [])));
    }

    [Test]
    public async Task Delta_EmptyFirstRequest_SubscribesToAllExactlyForFullSetTypes()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(SampleSnapshot(variant: 1));
        await using var client = DeltaTestClient.Open(server.Channel);
        var answered = new List<string[]>();
        foreach (var type in Types)
        {
            answered.Add(DeltaTestClient.Names(await client.SubscribeAsync(type.TypeUrl)));
        }

        Assert.That(answered, Is.EqualTo(Types.Select(t => t.SotwFullSet ? SampleNames : [])));
    }

    /// <summary>Two resources of every type, 'a' and 'b', each referring to the one of the same name of each type its entry refers to.</summary>
    private static Snapshot SampleSnapshot(int variant) =>
        Snapshot.Create(Types.SelectMany(t => SampleNames.Select(n => Sample(t.TypeUrl, n, variant))));

    /// <summary>
    /// A resource of <paramref name="typeUrl"/> named <paramref name="name"/> that refers to the resource of the same
    /// name of every type its entry declares a reference to; another <paramref name="variant"/> changes its content.
    /// </summary>
    private static XdsResource Sample(string typeUrl, string name, int variant) => typeUrl switch
    {
        TypeUrls.Secret => XdsResource.Create(new Secret { Name = name, GenericSecret = new GenericSecret { Secret = new DataSource { InlineString = $"v{variant}" } } }),
        TypeUrls.Cluster => XdsResource.Create(new Cluster
        {
            Name = name,
            Type = Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = TestResources.Ads() },
            ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(variant)),
            TransportSocket = Tls(new UpstreamTlsContext { CommonTlsContext = Certificate(name) }),
        }),
        TypeUrls.ClusterLoadAssignment => TestResources.Endpoints(name, (uint)(9000 + variant)),
        TypeUrls.RouteConfiguration => TestResources.Routes(name, [.. Enumerable.Repeat(name, variant)]),
        TypeUrls.Listener => Listener(name, variant),
        TypeUrls.ScopedRouteConfiguration => XdsResource.Create(new Envoy.Config.Route.V3.ScopedRouteConfiguration
        {
            Name = name,
            RouteConfigurationName = name,
            Key = new() { Fragments = { new Envoy.Config.Route.V3.ScopedRouteConfiguration.Types.Key.Types.Fragment { StringKey = $"{name}-{variant}" } } },
        }),
        _ => throw new AssertionException($"add a sample of {typeUrl}, the new entry of the table"),
    };

    private static XdsResource Listener(string name, int variant)
    {
        var listener = Envoy.Config.Listener.V3.Listener.Parser.ParseFrom(TestResources.Listener(name, name).Message.ToByteString());
        listener.Address.SocketAddress.PortValue = (uint)(8080 + variant);
        var chain = listener.FilterChains[0];
        var hcm = chain.Filters[0].TypedConfig.Unpack<Hcm.HttpConnectionManager>();
        hcm.HttpFilters.Insert(0, new Hcm.HttpFilter
        {
            Name = "envoy.filters.http.ext_authz",
            TypedConfig = Any.Pack(new ExtAuthz { GrpcService = new GrpcService { EnvoyGrpc = new GrpcService.Types.EnvoyGrpc { ClusterName = name } } }),
        });
        chain.Filters[0].TypedConfig = Any.Pack(hcm);
        chain.TransportSocket = Tls(new DownstreamTlsContext { CommonTlsContext = Certificate(name) });
        return XdsResource.Create(listener);
    }

    private static CommonTlsContext Certificate(string secret) =>
        new() { TlsCertificateSdsSecretConfigs = { new SdsSecretConfig { Name = secret, SdsConfig = TestResources.Ads() } } };

    private static TransportSocket Tls(IMessage context) => new() { Name = "envoy.transport_sockets.tls", TypedConfig = Any.Pack(context) };

    private sealed record DiscoveryResponseNames(string TypeUrl, string[] Names);
}
