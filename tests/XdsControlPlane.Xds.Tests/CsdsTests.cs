using Envoy.Admin.V3;
using Envoy.Service.Status.V3;
using Envoy.Type.Matcher.V3;
using Grpc.Core;
using static XdsControlPlane.Xds.Tests.AdsTestClient;

namespace XdsControlPlane.Xds.Tests;

/// <summary>CSDS over real gRPC: what each connected client holds, ACKed or NACKed.</summary>
public sealed class CsdsTests
{
    private XdsTestServer _server = null!;

    [SetUp]
    public async Task StartServer() => _server = await XdsTestServer.StartAsync();

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task FetchClientStatus_AckingAndNackingClients_ShowsBothStates()
    {
        _server.Publish(TestResources.Snapshot("cart"));
        await using var good = Open(_server.Channel, XdsTestServer.Node("envoy-good"));
        await using var bad = Open(_server.Channel, XdsTestServer.Node("envoy-bad"));
        var toGood = await good.RequestAsync(TypeUrls.Cluster);
        var beforeAck = DateTimeOffset.UtcNow.AddSeconds(-1);
        await good.AckAsync(toGood);
        await good.AssertNothingSentAsync();
        var toBad = await bad.RequestAsync(TypeUrls.Cluster);
        await bad.NackAsync(toBad, string.Empty, "cluster cart: unknown field");
        await bad.AssertNothingSentAsync();
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(_server.Channel);

        var status = await csds.FetchClientStatusAsync(new ClientStatusRequest());

        var byNode = status.Config.ToDictionary(c => c.Node.Id, c => c.GenericXdsConfigs.Single());
        Assert.Multiple(() =>
        {
            Assert.That(byNode.Keys, Is.EquivalentTo(new[] { "envoy-good", "envoy-bad" }));
            Assert.That(
                (byNode["envoy-good"].Name, byNode["envoy-good"].ConfigStatus, byNode["envoy-good"].ClientStatus),
                Is.EqualTo(("cart", ConfigStatus.Synced, ClientResourceStatus.Acked)));
            Assert.That(
                (byNode["envoy-bad"].ConfigStatus, byNode["envoy-bad"].ClientStatus, byNode["envoy-bad"].ErrorState?.Details),
                Is.EqualTo((ConfigStatus.Error, ClientResourceStatus.Nacked, "cluster cart: unknown field")));
            Assert.That(byNode["envoy-good"].VersionInfo, Is.EqualTo(_server.Cache.GetSnapshot(XdsTestServer.Group)!.Snapshot.Find(TypeUrls.Cluster, "cart")!.Version));
            Assert.That(byNode["envoy-good"].XdsConfig.TypeUrl, Is.EqualTo(TypeUrls.Cluster));
            Assert.That(byNode["envoy-good"].LastUpdated?.ToDateTimeOffset(), Is.InRange(beforeAck, DateTimeOffset.UtcNow), "last_updated: when the client ACKed");
            Assert.That(byNode["envoy-bad"].LastUpdated, Is.Null, "never ACKed");
        });
    }

    [Test]
    public async Task FetchClientStatus_NodeIdMatcherAndExcludedContents_AreHonoured()
    {
        _server.Publish(TestResources.Snapshot("cart"));
        await using var gateway = Open(_server.Channel, XdsTestServer.Node("gateway-0"));
        await using var sidecar = Open(_server.Channel, XdsTestServer.Node("sidecar-0"));
        await gateway.RequestAsync(TypeUrls.Cluster);
        await sidecar.RequestAsync(TypeUrls.Cluster);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(_server.Channel);

        var status = await csds.FetchClientStatusAsync(new ClientStatusRequest
        {
            NodeMatchers = { new NodeMatcher { NodeId = new StringMatcher { Prefix = "gateway-" } } },
            ExcludeResourceContents = true,
        });

        Assert.Multiple(() =>
        {
            Assert.That(status.Config.Select(c => c.Node.Id), Is.EqualTo(new[] { "gateway-0" }));
            Assert.That(status.Config[0].GenericXdsConfigs[0].XdsConfig, Is.Null);
            Assert.That(status.Config[0].GenericXdsConfigs[0].ConfigStatus, Is.EqualTo(ConfigStatus.Stale), "sent, not yet ACKed");
        });
    }

    [Test]
    public void FetchClientStatus_MetadataMatcher_IsRejectedClearly()
    {
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(_server.Channel);

        var failure = Assert.ThrowsAsync<RpcException>(async () => await csds.FetchClientStatusAsync(new ClientStatusRequest
        {
            NodeMatchers = { new NodeMatcher { NodeMetadatas = { new StructMatcher() } } },
        }));

        Assert.That((failure!.StatusCode, failure.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "node_matchers[].node_metadatas is not supported; match on node_id")));
    }
}
