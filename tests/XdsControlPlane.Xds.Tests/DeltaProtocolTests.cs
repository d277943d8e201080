using Envoy.Service.Discovery.V3;
using Grpc.Core;
using static XdsControlPlane.Xds.Tests.DeltaTestClient;

namespace XdsControlPlane.Xds.Tests;

/// <summary>Delta (incremental) ADS over real gRPC on loopback.</summary>
public sealed class DeltaProtocolTests : ServerPerTest
{
    private const string Cds = TypeUrls.Cluster;
    private const string Eds = TypeUrls.ClusterLoadAssignment;
    private const string Rds = TypeUrls.RouteConfiguration;

    [Test]
    public async Task Request_WithoutTypeUrl_FailsStreamWithInvalidArgument()
    {
        await using var client = Open(Server.Channel);

        await client.SendAsync(new DeltaDiscoveryRequest { ResourceNamesSubscribe = { "a" } });
        var failure = await client.ExpectFailureAsync();

        Assert.That((failure.StatusCode, failure.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "type_url is required on every Delta ADS request")));
    }

    [Test]
    public async Task FirstRequest_WithoutNode_FailsStreamWithInvalidArgument()
    {
        await using var client = OpenWithoutNode(new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(Server.Channel).DeltaAggregatedResources());

        await client.SendAsync(new DeltaDiscoveryRequest { TypeUrl = Cds });
        var failure = await client.ExpectFailureAsync();

        Assert.Multiple(() =>
        {
            Assert.That((failure.StatusCode, failure.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "node is required on the first request of a stream")));
            Assert.That(Server.Registry.Clients, Is.Empty);
        });
    }

    [Test]
    public async Task WildcardCds_SendsEveryClusterWithItsOwnVersion()
    {
        var snapshot = TestResources.Snapshot("cart", "checkout");
        Server.Publish(snapshot);
        await using var client = Open(Server.Channel);

        var clusters = await client.SubscribeAsync(Cds);

        Assert.Multiple(() =>
        {
            Assert.That(Names(clusters), Is.EqualTo(new[] { "cart", "checkout" }));
            Assert.That(clusters.Resources.Select(r => r.Version), Is.EqualTo(new[] { snapshot.Find(Cds, "cart")!.Version, snapshot.Find(Cds, "checkout")!.Version }));
            Assert.That(clusters.SystemVersionInfo, Is.EqualTo(snapshot.Version));
            Assert.That(clusters.RemovedResources, Is.Empty);
        });
    }

    [Test]
    public async Task SnapshotChange_SendsOnlyChangedResources_AndListsRemovedOnes()
    {
        Server.Publish(TestResources.Snapshot("a", "b", "c"));
        await using var client = Open(Server.Channel);
        await client.AckAsync(await client.SubscribeAsync(Eds, "a", "b", "c"));
        await client.AssertNothingSentAsync();

        Server.Publish(Snapshot.Create(
        [
            TestResources.Listener("http", "routes"), TestResources.Routes("routes", "a", "b"),
            TestResources.Cluster("a"), TestResources.Cluster("b"),
            TestResources.Endpoints("a", 9000), TestResources.Endpoints("b", 9999),
        ]));
        var delta = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(delta.TypeUrl, Is.EqualTo(Eds));
            Assert.That(Names(delta), Is.EqualTo(new[] { "b" }), "a is unchanged");
            Assert.That(delta.RemovedResources, Is.EqualTo(new[] { "c" }));
        });
    }

    [Test]
    public async Task Reconnect_WithInitialResourceVersions_ResendsOnlyWhatChanged()
    {
        var snapshot = TestResources.Snapshot("a", "b");
        Server.Publish(snapshot);
        await using var client = Open(Server.Channel);

        await client.SendAsync(new DeltaDiscoveryRequest
        {
            TypeUrl = Eds,
            ResourceNamesSubscribe = { "a", "b", "gone" },
            InitialResourceVersions =
            {
                ["a"] = snapshot.Find(Eds, "a")!.Version, // current
                ["b"] = "0000000000000000",                // outdated
                ["gone"] = "1111111111111111",             // no longer exists
            },
        });
        var response = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(Names(response), Is.EqualTo(new[] { "b" }));
            Assert.That(response.RemovedResources, Is.EqualTo(new[] { "gone" }));
        });
    }

    [Test]
    public async Task StaleNonce_SubscriptionChangeStillApplies()
    {
        Server.Publish(TestResources.Snapshot("a", "b"));
        await using var client = Open(Server.Channel);
        var first = await client.SubscribeAsync(Eds, "a");
        Server.Publish(TestResources.Snapshot(["a", "b"], port: 9100));
        var second = await client.ReceiveAsync();

        await client.SendAsync(new DeltaDiscoveryRequest { TypeUrl = Eds, ResponseNonce = "no-such-nonce", ResourceNamesSubscribe = { "b" } });
        var third = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(Names(first), Is.EqualTo(new[] { "a" }));
            Assert.That(Names(second), Is.EqualTo(new[] { "a" }));
            Assert.That(Names(third), Is.EqualTo(new[] { "b" }));
        });
    }

    [Test]
    public async Task Ack_GetsNoResponse_AndUnsubscribe_StopsUpdates()
    {
        Server.Publish(TestResources.Snapshot("a", "b"));
        await using var client = Open(Server.Channel);
        await client.AckAsync(await client.SubscribeAsync(Eds, "a", "b"));
        await client.AssertNothingSentAsync();

        await client.SendAsync(new DeltaDiscoveryRequest { TypeUrl = Eds, ResourceNamesUnsubscribe = { "b" } });
        await client.AssertNothingSentAsync();
        Server.Publish(TestResources.Snapshot(["a", "b"], port: 9200));
        var update = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(Names(update), Is.EqualTo(new[] { "a" }));
            Assert.That(update.RemovedResources, Is.Empty, "unsubscribed names are not 'removed'");
        });
    }

    [Test]
    public async Task Nack_IsRecordedAndTheSameVersionIsNotResent()
    {
        Server.Publish(TestResources.Snapshot("a"));
        await using var client = Open(Server.Channel);
        var clusters = await client.SubscribeAsync(Cds);

        await client.SendAsync(new DeltaDiscoveryRequest
        {
            TypeUrl = Cds,
            ResponseNonce = clusters.Nonce,
            ErrorDetail = new Google.Rpc.Status { Code = 3, Message = "cluster a: rejected" },
        });
        await client.AssertNothingSentAsync();

        var status = Server.Registry.Clients.Single().Types.Single(t => t.TypeUrl == Cds);
        Assert.That((status.LastNack?.Message, status.LastNack?.Version), Is.EqualTo(("cluster a: rejected", clusters.SystemVersionInfo)));
    }

    [Test]
    public async Task UnknownName_IsAnnouncedAbsentOnce_AndSentWhenItAppears()
    {
        Server.Publish(TestResources.Snapshot("a"));
        await using var client = Open(Server.Channel);

        var first = await client.SubscribeAsync(Eds, "later");
        await client.AckAsync(first);
        await client.AssertNothingSentAsync();
        Server.Publish(TestResources.Snapshot("a", "later"));
        var appeared = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That((Names(first), first.RemovedResources.ToArray()), Is.EqualTo((Array.Empty<string>(), new[] { "later" })));
            Assert.That(Names(appeared), Is.EqualTo(new[] { "later" }));
        });
    }

    [Test]
    public async Task ClusterChange_ResendsItsEndpointsEvenIfUnchanged()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);
        await client.AckAsync(await client.SubscribeAsync(Cds));
        var endpoints = await client.SubscribeAsync(Eds, "cart");
        await client.AckAsync(endpoints);
        await client.AssertNothingSentAsync();

        Server.Publish(Snapshot.Create(
            [TestResources.Listener("http", "routes"), TestResources.Routes("routes", "cart"), TestResources.Cluster("cart", connectTimeoutSeconds: 5), TestResources.Endpoints("cart", 9000)]));
        var clusters = await client.ReceiveAsync();
        var resent = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That((clusters.TypeUrl, Names(clusters)), Is.EqualTo((Cds, new[] { "cart" })));
            Assert.That((resent.TypeUrl, Names(resent)), Is.EqualTo((Eds, new[] { "cart" })));
            Assert.That(resent.Resources[0].Version, Is.EqualTo(endpoints.Resources[0].Version));
        });
    }

    [Test]
    public async Task RemovedCluster_IsRemovedOnlyAfterRoutesWithoutItAreAcked()
    {
        Server.Publish(TestResources.Snapshot("cart", "legacy"));
        await using var client = Open(Server.Channel);
        await client.AckAsync(await client.SubscribeAsync(Cds));
        await client.AckAsync(await client.SubscribeAsync(Rds, "routes"));
        await client.AssertNothingSentAsync();

        Server.Publish(TestResources.Snapshot("cart"));
        var routes = await client.ReceiveAsync();
        await client.AckAsync(routes);
        var clusters = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That((routes.TypeUrl, Names(routes)), Is.EqualTo((Rds, new[] { "routes" })));
            Assert.That((clusters.TypeUrl, clusters.RemovedResources.ToArray()), Is.EqualTo((Cds, new[] { "legacy" })));
        });
    }

    [Test]
    public async Task UnsubscribingTheRoutesThatKeptAClusterAlive_RemovesTheCluster()
    {
        Server.Publish(TestResources.Snapshot("cart", "legacy"));
        await using var client = Open(Server.Channel);
        await client.AckAsync(await client.SubscribeAsync(Cds));
        await client.AckAsync(await client.SubscribeAsync(Rds, "routes"));
        await client.AssertNothingSentAsync();
        Server.Publish(TestResources.Snapshot("cart")); // routes no longer use legacy, and legacy is gone
        var routes = await client.ReceiveAsync();        // not ACKed: the client still holds the old routes
        await client.AssertNothingSentAsync();           // CDS was re-checked meanwhile: legacy still in use

        await client.SendAsync(new DeltaDiscoveryRequest { TypeUrl = Rds, ResourceNamesUnsubscribe = { "routes" } });
        var clusters = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(routes.TypeUrl, Is.EqualTo(Rds));
            Assert.That((clusters.TypeUrl, clusters.RemovedResources.ToArray()), Is.EqualTo((Cds, new[] { "legacy" })));
        });
    }
}
