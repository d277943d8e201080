using Envoy.Config.Endpoint.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using XdsControlPlane.Testing;
using Cluster = Envoy.Config.Cluster.V3.Cluster;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// What a stream sends next when a snapshot is published while it is still writing a large response (the client busy
/// reading it): the next response is chosen against the newest snapshot, in push order. Driven over real gRPC on
/// loopback by a client that reads only when the test says so, so the server's write waits on HTTP/2 flow control.
/// </summary>
public sealed class ResponseOrderTests : ServerPerTest
{
    private const string Cds = TypeUrls.Cluster;
    private const string Eds = TypeUrls.ClusterLoadAssignment;
    private const string Lds = TypeUrls.Listener;
    private const string Rds = TypeUrls.RouteConfiguration;

    /// <summary>Far more than a client's HTTP/2 stream window (64 KiB at first) and Kestrel's response buffer (64 KiB).</summary>
    private const int PaddingPerCluster = 128 * 1024;

    [Test]
    public async Task EndpointChange_PublishedWhileALargeClusterPushIsWritten_ComesBeforeThatPushsRoutes()
    {
        Server.Publish(Snapshot(new[] { "cart" }, largeClusters: 0, cartPort: 9000));
        using var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(Server.Channel).StreamAggregatedResources();
        var subscriptions = new (string Type, string[] Names)[] { (Cds, []), (Eds, ["cart"]), (Lds, []), (Rds, ["routes"]) };
        foreach (var (type, names) in subscriptions)
        {
            await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = type == Cds ? XdsTestServer.Node() : null, TypeUrl = type, ResourceNames = { names } });
        }

        string? clusterVersion = null;
        for (var i = 0; i < subscriptions.Length; i++)
        {
            var first = await ReadAndAckAsync(call, subscriptions);
            clusterVersion = first.TypeUrl == Cds ? first.VersionInfo : clusterVersion;
        }

        // A push with 2 MiB of clusters (and routes to them): its CDS response is written while the client reads nothing.
        Server.Publish(Snapshot(new[] { "cart" }, largeClusters: 16, cartPort: 9000));
        await Eventually.WaitAsync(
            () => Server.Registry.Clients.Single().Types.Single(t => t.TypeUrl == Cds).SentVersion != clusterVersion,
            "the large CDS response to be on its way");

        // Meanwhile an endpoint moves: the next snapshot differs from the one being pushed only in cart's endpoints.
        Server.Publish(Snapshot(new[] { "cart" }, largeClusters: 16, cartPort: 9001));

        var clusters = await ReadAndAckAsync(call, subscriptions);
        var next = await ReadAndAckAsync(call, subscriptions);
        var after = await ReadAndAckAsync(call, subscriptions);

        Assert.Multiple(() =>
        {
            Assert.That((clusters.TypeUrl, clusters.Resources.Count), Is.EqualTo((Cds, 17)), "the large push's clusters come first, as they were being written");
            Assert.That(next.TypeUrl, Is.EqualTo(Eds), "the endpoint change comes right after the response that was being written, not behind the routes");
            Assert.That(Ports(next), Is.EqualTo(new uint[] { 9001 }), "with the moved endpoint");
            Assert.That(after.TypeUrl, Is.EqualTo(Rds), "the routes of the push follow");
        });
    }

    private static async Task<DiscoveryResponse> ReadAndAckAsync(AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> call, (string Type, string[] Names)[] subscriptions)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.That(await call.ResponseStream.MoveNext(timeout.Token), Is.True, "the stream ended");
        var response = call.ResponseStream.Current;
        await call.RequestStream.WriteAsync(new DiscoveryRequest
        {
            TypeUrl = response.TypeUrl,
            VersionInfo = response.VersionInfo,
            ResponseNonce = response.Nonce,
            ResourceNames = { subscriptions.Single(s => s.Type == response.TypeUrl).Names },
        });
        return response;
    }

    private static uint[] Ports(DiscoveryResponse response) =>
        [.. response.Resources.Select(r => r.Unpack<ClusterLoadAssignment>()).SelectMany(a => a.Endpoints).SelectMany(l => l.LbEndpoints).Select(e => e.Endpoint.Address.SocketAddress.PortValue)];

    /// <summary>A listener, its routes to every cluster, the clusters (each large one padded with metadata) and their endpoints.</summary>
    private static Snapshot Snapshot(string[] clusters, int largeClusters, uint cartPort)
    {
        var large = Enumerable.Range(0, largeClusters).Select(i => $"large-{i}").ToArray();
        var padding = new string('x', PaddingPerCluster);
        return global::XdsControlPlane.Xds.Resources.Snapshot.Create(
            new[] { TestResources.Listener("http", "routes"), TestResources.Routes("routes", [.. clusters, .. large]) }
                .Concat(clusters.Select(c => TestResources.Cluster(c)))
                .Concat(large.Select(name => XdsResource.Create(Padded((Cluster)TestResources.Cluster(name).Message, padding))))
                .Concat(clusters.Select(c => TestResources.Endpoints(c, cartPort)))
                .Concat(large.Select(name => TestResources.Endpoints(name, 9000))));
    }

    private static Cluster Padded(Cluster cluster, string padding)
    {
        cluster.Metadata = new Envoy.Config.Core.V3.Metadata { FilterMetadata = { ["test.padding"] = new Struct { Fields = { ["padding"] = Value.ForString(padding) } } } };
        return cluster;
    }
}
