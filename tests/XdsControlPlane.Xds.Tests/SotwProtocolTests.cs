using Envoy.Service.Cluster.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using static XdsControlPlane.Xds.Tests.AdsTestClient;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// The State-of-the-World ADS checklist of the xDS server issue, each item driven over real gRPC on loopback by
/// a client that behaves like Envoy (or deliberately does not). Each rule about Envoy names its source: the xDS
/// protocol doc (envoyproxy/envoy docs/root/api-docs/xds_protocol.rst) or Envoy's SotW client
/// (source/extensions/config_subscription/grpc/grpc_mux_impl.cc).
/// </summary>
public sealed class SotwProtocolTests : ServerPerTest
{
    private const string Cds = TypeUrls.Cluster;
    private const string Eds = TypeUrls.ClusterLoadAssignment;
    private const string Lds = TypeUrls.Listener;
    private const string Rds = TypeUrls.RouteConfiguration;

    [Test] // 1
    public async Task Request_WithoutTypeUrl_FailsStreamWithInvalidArgument()
    {
        await using var client = Open(Server.Channel);

        await client.SendAsync(new DiscoveryRequest { ResourceNames = { "a" } });
        var failure = await client.ExpectFailureAsync();

        Assert.That((failure.StatusCode, failure.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "type_url is required on every ADS request")));
    }

    [Test] // 2
    public async Task FirstRequest_WithoutNode_FailsStreamWithInvalidArgumentAndOthersAreServed()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var anonymous = OpenWithoutNode(new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(Server.Channel).StreamAggregatedResources());
        await using var perType = OpenWithoutNode(new ClusterDiscoveryService.ClusterDiscoveryServiceClient(Server.Channel).StreamClusters());
        await using var named = Open(Server.Channel);

        await anonymous.SendAsync(Cds);
        await perType.SendAsync(Cds);
        var (failure, perTypeFailure) = (await anonymous.ExpectFailureAsync(), await perType.ExpectFailureAsync());
        var served = await named.RequestAsync(Cds);

        Assert.Multiple(() =>
        {
            Assert.That((failure.StatusCode, failure.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "node is required on the first request of a stream")));
            Assert.That((perTypeFailure.StatusCode, perTypeFailure.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "node is required on the first request of a stream")));
            Assert.That(Names(served), Is.EqualTo(new[] { "cart" }));
            Assert.That(Server.Registry.Clients.Select(c => c.Node.Id), Is.EqualTo(new[] { "envoy-1" }), "no client without a node was registered");
        });
    }

    [Test] // 2
    public async Task Node_OnlyOnFirstRequest_LaterRequestsAreServedForTheSameGroup()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);

        var clusters = await client.RequestAsync(Cds);
        var endpoints = await client.RequestAsync(Eds, "cart"); // no node on this request

        Assert.Multiple(() =>
        {
            Assert.That(Names(clusters), Is.EqualTo(new[] { "cart" }));
            Assert.That(Names(endpoints), Is.EqualTo(new[] { "cart" }));
            Assert.That(Server.Registry.Clients.Single().Node.Id, Is.EqualTo("envoy-1"));
        });
    }

    [Test] // 3
    public async Task Responses_OnOneStream_HaveUniqueNonces()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);
        var nonces = new List<string>();

        var clusters = await client.RequestAsync(Cds);
        nonces.Add(clusters.Nonce);
        await client.AckAsync(clusters);
        nonces.Add((await client.RequestAsync(Eds, "cart")).Nonce);
        Server.Publish(TestResources.Snapshot("cart", "checkout"));
        nonces.Add((await client.ReceiveAsync()).Nonce);
        nonces.Add((await client.RequestAsync(Eds, "cart", "checkout")).Nonce);

        Assert.That(nonces, Is.Unique);
    }

    /// <summary>xds_protocol.rst, "When to send an update": new requests "supersede any prior DiscoveryRequests having the same resource type".</summary>
    [Test] // 4
    public async Task Requests_QueuedForOneType_TheLatestDecidesWhatIsSent()
    {
        // In process, to make the queue certain: the processing loop is held in the node-group lookup of the first
        // request until the reader has queued all three, so they are applied together and answered once.
        var cache = new SnapshotCache();
        cache.SetSnapshot(XdsTestServer.Group, TestResources.Snapshot("a", "b", "c"));
        var groups = new GatedGroupResolver();
        var requests = new ScriptedRequests<DiscoveryRequest>();
        var responses = new CollectedResponses<DiscoveryResponse>();
        var context = new XdsStreamContext(cache, groups, new ClientRegistry(), TimeProvider.System, new XdsMetrics(Prometheus.Metrics.NewCustomRegistry()), new XdsServerOptions(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var running = new SotwStream(context, fixedTypeUrl: null).RunAsync(requests, responses, stop.Token);

        requests.Add(new DiscoveryRequest { Node = XdsTestServer.Node(), TypeUrl = Eds, ResourceNames = { "a" } });
        requests.Add(new DiscoveryRequest { TypeUrl = Eds, ResourceNames = { "a", "b" } });
        requests.Add(new DiscoveryRequest { TypeUrl = Eds, ResourceNames = { "c" } });
        await requests.WaitUntilQueuedAsync(3);
        groups.Release();
        var answer = await responses.NextAsync();
        const string Barrier = "type.googleapis.com/xdscp.test.Latest";
        requests.Add(new DiscoveryRequest { TypeUrl = Barrier });
        var next = await responses.NextAsync(); // a first request for a new type is always answered, in order
        requests.Complete();
        await running;

        Assert.Multiple(() =>
        {
            Assert.That((answer.TypeUrl, Names(answer)), Is.EqualTo((Eds, new[] { "c" })), "one answer, for the latest request");
            Assert.That(next.TypeUrl, Is.EqualTo(Barrier), "and no answer for the two earlier requests");
        });
    }

    [Test] // 5
    public async Task Ack_SameVersionLatestNonceSameNames_GetsNoResponse()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);
        var endpoints = await client.RequestAsync(Eds, "cart");

        await client.AckAsync(endpoints, "cart");

        await client.AssertNothingSentAsync();
    }

    [Test] // 6
    public async Task Nack_IsRecordedWithClientMessage_NotResent_AndNextVersionIsSent()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);
        var first = await client.RequestAsync(Cds);
        await client.AckAsync(first);
        await client.AssertNothingSentAsync();
        Server.Publish(TestResources.Snapshot(["cart", "checkout"], port: 9000));
        var rejected = await client.ReceiveAsync();

        await client.NackAsync(rejected, first.VersionInfo, "cluster checkout: connect_timeout too short");
        await client.AssertNothingSentAsync();
        var status = Server.Registry.Clients.Single().Types.Single(t => t.TypeUrl == Cds);
        Server.Publish(TestResources.Snapshot("cart", "checkout", "payments"));
        var next = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(status.LastNack?.Message, Is.EqualTo("cluster checkout: connect_timeout too short"));
            Assert.That(status.LastNack?.Version, Is.EqualTo(rejected.VersionInfo));
            Assert.That(status.AckedVersion, Is.EqualTo(first.VersionInfo));
            Assert.That(next.TypeUrl, Is.EqualTo(Cds));
            Assert.That(Names(next), Is.EqualTo(new[] { "cart", "checkout", "payments" }));
        });
    }

    [Test] // 6, NACK storm
    public async Task NackStorm_SameResponseNackedRepeatedly_IsNeverResent()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);
        var clusters = await client.RequestAsync(Cds);

        for (var i = 0; i < 50; i++)
        {
            await client.NackAsync(clusters, string.Empty, $"rejected #{i}");
        }

        await client.AssertNothingSentAsync();
        Assert.That(Server.Registry.Clients.Single().Types.Single(t => t.TypeUrl == Cds).LastNack?.Message, Is.EqualTo("rejected #49"));
    }

    /// <summary>xds_protocol.rst, "Resource updates": "The management server should not send a DiscoveryResponse for any DiscoveryRequest that has a stale nonce".</summary>
    [Test] // 7
    public async Task StaleNonce_IsIgnored()
    {
        Server.Publish(TestResources.Snapshot("a", "b"));
        await using var client = Open(Server.Channel);
        var first = await client.RequestAsync(Eds, "a");
        await client.AckAsync(first, "a");
        await client.AssertNothingSentAsync();
        Server.Publish(TestResources.Snapshot(["a", "b"], port: 9100));
        var second = await client.ReceiveAsync();

        // A request answering the first response arrives after the second was sent: it must not change anything.
        await client.SendAsync(new DiscoveryRequest { TypeUrl = Eds, VersionInfo = first.VersionInfo, ResponseNonce = first.Nonce, ResourceNames = { "a", "b" } });
        await client.AssertNothingSentAsync();
        await client.AckAsync(second, "a");

        await client.AssertNothingSentAsync();
    }

    /// <summary>xds_protocol.rst, "How the client specifies what resources to return": a type never explicitly subscribed is treated "identically to ... \"*\"" (Envoy always subscribes to LDS and CDS this way, "Client Behavior").</summary>
    [Test] // 8
    public async Task EmptyFirstCdsRequest_IsWildcard()
    {
        Server.Publish(TestResources.Snapshot("cart", "checkout"));
        await using var client = Open(Server.Channel);

        var clusters = await client.RequestAsync(Cds);

        Assert.That(Names(clusters), Is.EqualTo(new[] { "cart", "checkout" }));
    }

    [Test] // 8
    public async Task StarName_IsWildcard()
    {
        Server.Publish(TestResources.Snapshot("cart", "checkout"));
        await using var client = Open(Server.Channel);

        var listeners = await client.RequestAsync(Lds, "*");

        Assert.That(Names(listeners), Is.EqualTo(new[] { "http" }));
    }

    [Test] // 8
    public async Task EmptyList_AfterNamesWereSent_Unsubscribes()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);
        var named = await client.RequestAsync(Cds, "cart");
        await client.AckAsync(named, "cart");

        await client.SendAsync(new DiscoveryRequest { TypeUrl = Cds, VersionInfo = named.VersionInfo, ResponseNonce = named.Nonce });
        var none = await client.ReceiveAsync();

        // Envoy does not ACK the empty answer to "no names" (no watch is left): the client is in sync all the same.
        // Source: grpc_mux_impl.cc GrpcMuxImpl::onDiscoveryResponse, the api_state.watches_.empty() branch ("No watches
        // and no resources ... we'll accept this update. no need to send a discovery request").
        var version = Server.Cache.GetSnapshot(XdsTestServer.Group)!.Snapshot.Version;
        Assert.Multiple(() =>
        {
            Assert.That(Names(none), Is.Empty);
            Assert.That(Server.Registry.AllAcked(XdsTestServer.Group, version, out var clients) && clients == 1, Is.True);
        });
    }

    [Test] // 9
    public async Task NewName_AtUnchangedSnapshot_IsSent()
    {
        Server.Publish(TestResources.Snapshot("a", "b"));
        await using var client = Open(Server.Channel);
        var first = await client.RequestAsync(Eds, "a");
        await client.AckAsync(first, "a");

        await client.SendAsync(new DiscoveryRequest { TypeUrl = Eds, VersionInfo = first.VersionInfo, ResponseNonce = first.Nonce, ResourceNames = { "a", "b" } });
        var second = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(Names(second), Is.EqualTo(new[] { "b" }), "the added name; the client keeps 'a', which did not change");
            Assert.That(second.VersionInfo, Is.Not.EqualTo(first.VersionInfo), "the version is the subscription's, with 'b'");
        });
    }

    [Test] // 9
    public async Task NamesAdded_AfterANack_GetEverySubscribedResource()
    {
        Server.Publish(TestResources.Snapshot("a", "b"));
        await using var client = Open(Server.Channel);
        var first = await client.RequestAsync(Eds, "a");
        await client.NackAsync(first, "", "endpoint a rejected", "a");
        await client.AssertNothingSentAsync();

        await client.SendAsync(new DiscoveryRequest { TypeUrl = Eds, ResponseNonce = first.Nonce, ResourceNames = { "a", "b" } });
        var second = await client.ReceiveAsync();

        Assert.That(Names(second), Is.EqualTo(new[] { "a", "b" }), "after a NACK the client holds an older version (its version_info says so): all of them");
    }

    [Test] // 9
    public async Task NameThatDoesNotExistYet_IsSentWhenItAppears()
    {
        Server.Publish(TestResources.Snapshot("a"));
        await using var client = Open(Server.Channel);
        var first = await client.RequestAsync(Eds, "a", "later");
        await client.AckAsync(first, "a", "later");

        Server.Publish(TestResources.Snapshot("a", "later"));
        var second = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(Names(first), Is.EqualTo(new[] { "a" }));
            Assert.That(Names(second), Is.EqualTo(new[] { "later" }), "a push names what changed; the client keeps 'a'");
        });
    }

    [Test] // 10: EDS and RDS responses may carry a subset
    public async Task EndpointChange_PushesOnlyThatAssignment_AndAfterANackEverything()
    {
        var clusters = new[] { "a", "b", "c" };
        Snapshot Serving(uint portOfB) => Snapshot.Create(
            new[] { TestResources.Listener("http", "routes"), TestResources.Routes("routes", clusters) }
                .Concat(clusters.Select(c => TestResources.Cluster(c)))
                .Concat(clusters.Select(c => TestResources.Endpoints(c, c == "b" ? portOfB : 9000))));
        Server.Publish(Serving(9000));
        await using var client = Open(Server.Channel);
        var all = await client.RequestAsync(Eds, clusters);
        await client.AckAsync(all, clusters);

        Server.Publish(Serving(9001));
        var changed = await client.ReceiveAsync();
        await client.NackAsync(changed, all.VersionInfo, "endpoint b rejected", clusters);
        await client.AssertNothingSentAsync();
        Server.Publish(Serving(9002));
        var afterNack = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(Names(all), Is.EqualTo(clusters));
            Assert.That(Names(changed), Is.EqualTo(new[] { "b" }));
            Assert.That(changed.VersionInfo, Is.Not.EqualTo(all.VersionInfo));
            Assert.That(Names(afterNack), Is.EqualTo(clusters), "after a NACK the client holds the older set: send all again");
        });
    }

    [Test] // 9, 10
    public async Task NamedType_NeverCarriesUnrequestedResources()
    {
        Server.Publish(TestResources.Snapshot("a", "b", "c"));
        await using var client = Open(Server.Channel);

        var endpoints = await client.RequestAsync(Eds, "b");
        var routes = await client.RequestAsync(Rds, "routes");

        Assert.Multiple(() =>
        {
            Assert.That(Names(endpoints), Is.EqualTo(new[] { "b" }));
            Assert.That(Names(routes), Is.EqualTo(new[] { "routes" }));
        });
    }

    [Test] // 10
    public async Task SnapshotChange_ThatDoesNotTouchAType_SendsNothingForIt()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);
        var clusters = await client.RequestAsync(Cds);
        await client.AckAsync(clusters);
        var endpoints = await client.RequestAsync(Eds, "cart");
        await client.AckAsync(endpoints, "cart");
        await client.AssertNothingSentAsync();

        Server.Publish(TestResources.Snapshot(["cart"], port: 9500)); // only endpoints change
        var pushed = await client.ReceiveAsync();

        Assert.That(pushed.TypeUrl, Is.EqualTo(Eds));
        await client.AckAsync(pushed, "cart");
        await client.AssertNothingSentAsync();
    }

    /// <summary>xds_protocol.rst, "Eventual consistency considerations": make before break, CDS, then EDS, then LDS, then RDS.</summary>
    [Test] // 11
    public async Task SnapshotChange_IsPushedClustersThenEndpointsThenListenersThenRoutes()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);
        foreach (var (type, names) in new[] { (Cds, Array.Empty<string>()), (Eds, new[] { "cart", "checkout" }), (Lds, []), (Rds, ["routes"]) })
        {
            await client.AckAsync(await client.RequestAsync(type, names), names);
        }

        await client.AssertNothingSentAsync();

        var changed = global::XdsControlPlane.Xds.Resources.Snapshot.Create(
        [
            TestResources.Listener("http", "routes"), TestResources.Listener("admin", "routes"),
            TestResources.Routes("routes", "cart", "checkout"),
            TestResources.Cluster("cart"), TestResources.Cluster("checkout"),
            TestResources.Endpoints("cart", 9000), TestResources.Endpoints("checkout", 9001),
        ]);
        Server.Publish(changed);
        var order = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            order.Add((await client.ReceiveAsync()).TypeUrl);
        }

        Assert.That(order, Is.EqualTo(new[] { Cds, Eds, Lds, Rds }));
    }

    [Test] // 11
    public async Task ClusterChange_EndpointsAreResentOnTheNextEdsRequestEvenIfUnchanged()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);
        var clusters = await client.RequestAsync(Cds);
        await client.AckAsync(clusters);
        var endpoints = await client.RequestAsync(Eds, "cart");
        await client.AckAsync(endpoints, "cart");
        await client.AssertNothingSentAsync();

        var slower = global::XdsControlPlane.Xds.Resources.Snapshot.Create(
            [TestResources.Listener("http", "routes"), TestResources.Routes("routes", "cart"), TestResources.Cluster("cart", connectTimeoutSeconds: 5), TestResources.Endpoints("cart", 9000)]);
        Server.Publish(slower);
        var updatedClusters = await client.ReceiveAsync();
        await client.AckAsync(updatedClusters);
        // Envoy re-requests EDS for the warming cluster: the updated cluster's new EDS subscription adds a watch, and
        // grpc_mux_impl.cc GrpcMuxImpl::addWatch queues a request ("This will send an updated request on each
        // subscription"); it warms until "a new ClusterLoadAssignment response is supplied ... even though there is no
        // change in endpoints" (xds_protocol.rst, "Resource warming", the Envoy implementation note).
        await client.AckAsync(endpoints, "cart");
        var resent = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(updatedClusters.TypeUrl, Is.EqualTo(Cds));
            Assert.That(resent.TypeUrl, Is.EqualTo(Eds));
            Assert.That(resent.VersionInfo, Is.EqualTo(endpoints.VersionInfo), "same endpoints, sent again");
            Assert.That(resent.Nonce, Is.Not.EqualTo(endpoints.Nonce));
        });
    }

    [Test] // 11
    public async Task ClusterAndEndpointsChange_EndpointsPushedBehindTheClustersAreNotSentAgainOnTheirAck()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);
        await client.AckAsync(await client.RequestAsync(Cds));
        await client.AckAsync(await client.RequestAsync(Eds, "cart"), "cart");

        var changed = global::XdsControlPlane.Xds.Resources.Snapshot.Create(
            [TestResources.Listener("http", "routes"), TestResources.Routes("routes", "cart"), TestResources.Cluster("cart", connectTimeoutSeconds: 5), TestResources.Endpoints("cart", 9001)]);
        Server.Publish(changed);
        var clusters = await client.ReceiveAsync();
        var endpoints = await client.ReceiveAsync(); // written after the clusters: the warming cluster gets it
        await client.AckAsync(clusters);
        await client.AckAsync(endpoints, "cart");

        Assert.That((clusters.TypeUrl, endpoints.TypeUrl), Is.EqualTo((Cds, Eds)));
        await client.AssertNothingSentAsync();
    }

    /// <summary>xds_protocol.rst, "Eventual consistency considerations": routes are not warmed, so "stale CDS clusters ... can then be removed" only after the routes no longer use them.</summary>
    [Test] // 11
    public async Task RemovedCluster_StaysUntilTheRoutesWithoutItAreAcked()
    {
        Server.Publish(TestResources.Snapshot("cart", "legacy"));
        await using var client = Open(Server.Channel);
        var clusters = await client.RequestAsync(Cds);
        await client.AckAsync(clusters);
        var routes = await client.RequestAsync(Rds, "routes");
        await client.AckAsync(routes, "routes");
        await client.AssertNothingSentAsync();

        Server.Publish(TestResources.Snapshot("cart"));
        var newRoutes = await client.ReceiveAsync(); // CDS is not pushed yet: the ACKed routes still use legacy
        await client.AckAsync(newRoutes, "routes");
        var afterSwitch = await client.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That((newRoutes.TypeUrl, Names(newRoutes)), Is.EqualTo((Rds, new[] { "routes" })));
            Assert.That((afterSwitch.TypeUrl, Names(afterSwitch)), Is.EqualTo((Cds, new[] { "cart" })));
        });
    }

    [Test] // 12
    public async Task EdsRequest_ForUnknownName_GetsAnEmptyReply()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(Server.Channel);

        var reply = await client.RequestAsync(Eds, "not-on-this-replica");

        Assert.Multiple(() =>
        {
            Assert.That(reply.TypeUrl, Is.EqualTo(Eds));
            Assert.That(reply.Resources, Is.Empty);
        });
    }

    [Test]
    public async Task Request_BeforeAnySnapshot_IsAnsweredWhenTheFirstSnapshotArrives()
    {
        await using var client = Open(Server.Channel);
        await client.SendAsync(Cds);
        Assert.That(() => Server.Registry.Clients.Count, Is.EqualTo(1).After(5000, 20), "the request reached the server");

        Server.Publish(TestResources.Snapshot("cart"));
        var first = await client.ReceiveAsync();

        Assert.That((first.TypeUrl, Names(first)), Is.EqualTo((Cds, new[] { "cart" })), "nothing (not even an empty CDS) was sent before the snapshot");
    }

    [Test]
    public async Task AbruptDisconnect_RemovesTheClientAndLeavesOthersServed()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        var dropped = Open(Server.Channel, XdsTestServer.Node("dropped"));
        await dropped.RequestAsync(Cds);
        await using var survivor = Open(Server.Channel, XdsTestServer.Node("survivor"));
        await survivor.AckAsync(await survivor.RequestAsync(Cds));
        await survivor.AssertNothingSentAsync();

        await dropped.DisposeAsync();
        Server.Publish(TestResources.Snapshot("cart", "checkout"));
        var pushed = await survivor.ReceiveAsync();

        Assert.That(Names(pushed), Is.EqualTo(new[] { "cart", "checkout" }));
        Assert.That(() => Server.Registry.Clients.Select(c => c.Node.Id), Is.EqualTo(new[] { "survivor" }).After(5000, 20));
    }

    [Test]
    public async Task AllAcked_TrueOnlyOnceEveryClientOfTheGroupAckedTheSnapshot()
    {
        var snapshot = TestResources.Snapshot("cart");
        Server.Publish(snapshot);
        await using var client = Open(Server.Channel);
        var clusters = await client.RequestAsync(Cds);
        var before = Server.Registry.AllAcked(XdsTestServer.Group, snapshot.Version, out _);

        await client.AckAsync(clusters);
        await client.AssertNothingSentAsync();
        var after = Server.Registry.AllAcked(XdsTestServer.Group, snapshot.Version, out var clients);

        Assert.Multiple(() =>
        {
            Assert.That(before, Is.False);
            Assert.That(after, Is.True);
            Assert.That(clients, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task PerTypeService_Cds_ServesClustersWithoutTypeUrlAndRejectsOtherTypes()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        var cds = new ClusterDiscoveryService.ClusterDiscoveryServiceClient(Server.Channel);
        await using (var client = Open(cds.StreamClusters()))
        {
            await client.SendAsync(new DiscoveryRequest());
            Assert.That(Names(await client.ReceiveAsync()), Is.EqualTo(new[] { "cart" }));
        }

        await using var wrongType = Open(cds.StreamClusters());
        await wrongType.SendAsync(Eds, "cart");
        var failure = await wrongType.ExpectFailureAsync();
        Assert.That(failure.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
    }
}
