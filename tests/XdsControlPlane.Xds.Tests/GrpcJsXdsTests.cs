using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf.WellKnownTypes;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;

using XdsControlPlane.Testing;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// The independent client: <c>@grpc/grpc-js-xds</c> (Node) subscribes to this server over ADS, makes real gRPC
/// calls to backends on loopback and is routed by header; an invalid resource is NACKed by it with its own words.
/// </summary>
[Category("XdsClients")]
public sealed class GrpcJsXdsTests
{
    private const string Target = "xds:///echo.shop:8080";
    private const string Group = "grpc/shop";
    private static readonly Dictionary<string, string> WithKey = new() { ["x-routing-key"] = "feature-x" };

    [Test]
    public async Task GrpcJsXds_RoutedByHeader_NacksInvalidCluster_AndKeepsLastGoodConfig()
    {
        await using var server = await XdsTestServer.StartAsync();
        await using var harness = await XdsClientHarness.StartAsync(XdsClientKind.GrpcJs, PortOf(server), "grpc-js-1", "grpc", "shop", "baseline", "fork");
        var ports = harness.BackendPorts;
        Assert.That(server.Cache.SetSnapshot(Group, Snapshot(ports["baseline"], ports["fork"], forkPolicy: Cluster.Types.LbPolicy.RoundRobin)).Problems, Is.Empty);

        var noKey = await harness.CallAsync(Target, 20);
        var keyed = await harness.CallAsync(Target, 20, WithKey);

        Assert.Multiple(() =>
        {
            Assert.That(noKey.Errors, Is.Empty);
            Assert.That(noKey.Backends, Is.EqualTo(new Dictionary<string, int> { ["baseline"] = 20 }));
            Assert.That(keyed.Backends, Is.EqualTo(new Dictionary<string, int> { ["fork"] = 20 }));
        });

        // Envoy takes lb_policy RANDOM; grpc-js-xds does not, and NACKs the CDS response.
        Assert.That(server.Cache.SetSnapshot(Group, Snapshot(ports["baseline"], ports["fork"], forkPolicy: Cluster.Types.LbPolicy.Random)).Problems, Is.Empty);
        Assert.That(() => NackOf(server, "grpc-js-1"), Is.Not.Null.After(15_000, 50), "the client NACKed the cluster update");
        var nack = NackOf(server, "grpc-js-1")!;
        var afterNack = await harness.CallAsync(Target, 5, WithKey);

        Assert.Multiple(() =>
        {
            Assert.That(
                nack.Message,
                Is.EqualTo("xDS response validation errors: [resource index 1: Cluster message validation failed: [load_balancing_policy unset and unsupported lb_policy: RANDOM]]"),
                "exactly the client's own error message (clusters are sent sorted by name: echo-fork is index 1)");
            Assert.That(afterNack.Backends, Is.EqualTo(new Dictionary<string, int> { ["fork"] = 5 }), "last good configuration keeps routing");
        });
    }

    private static NackRecord? NackOf(XdsTestServer server, string nodeId) =>
        server.Registry.Clients.Where(c => c.Node.Id == nodeId).SelectMany(c => c.Types).SingleOrDefault(t => t.TypeUrl == TypeUrls.Cluster)?.LastNack;

    private static int PortOf(XdsTestServer server) => new Uri(server.Channel.Target.StartsWith("http", StringComparison.Ordinal) ? server.Channel.Target : "http://" + server.Channel.Target).Port;

    private static Snapshot Snapshot(int baselinePort, int forkPort, Cluster.Types.LbPolicy forkPolicy) => global::XdsControlPlane.Xds.Resources.Snapshot.Create(
    [
        XdsResource.Create(new Listener
        {
            Name = "echo.shop:8080",
            ApiListener = new ApiListener
            {
                ApiListener_ = Any.Pack(new Hcm.HttpConnectionManager
                {
                    Rds = new Hcm.Rds { RouteConfigName = "echo-routes", ConfigSource = TestResources.Ads() },
                    HttpFilters = { new Hcm.HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) } },
                }),
            },
        }),
        XdsResource.Create(new RouteConfiguration
        {
            Name = "echo-routes",
            VirtualHosts =
            {
                new VirtualHost
                {
                    Name = "echo",
                    Domains = { "echo.shop:8080", "echo.shop" },
                    Routes =
                    {
                        new Route
                        {
                            Match = new RouteMatch { Prefix = "/", Headers = { new HeaderMatcher { Name = "x-routing-key", StringMatch = new StringMatcher { Exact = "feature-x" } } } },
                            Route_ = new RouteAction { Cluster = "echo-fork" },
                        },
                        new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = "echo-baseline" } },
                    },
                },
            },
        }),
        EdsCluster("echo-baseline", Cluster.Types.LbPolicy.RoundRobin),
        EdsCluster("echo-fork", forkPolicy),
        Endpoints("echo-baseline", baselinePort),
        Endpoints("echo-fork", forkPort),
    ]);

    private static XdsResource EdsCluster(string name, Cluster.Types.LbPolicy policy) => XdsResource.Create(new Cluster
    {
        Name = name,
        Type = Cluster.Types.DiscoveryType.Eds,
        EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = TestResources.Ads() },
        ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        LbPolicy = policy,
    });

    private static XdsResource Endpoints(string cluster, int port) => XdsResource.Create(new ClusterLoadAssignment
    {
        ClusterName = cluster,
        Endpoints =
        {
            new LocalityLbEndpoints
            {
                Locality = new Locality { Region = "local", Zone = "zone-a" },
                LoadBalancingWeight = 1,
                LbEndpoints = { new LbEndpoint { Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = "127.0.0.1", PortValue = (uint)port } } } } },
            },
        },
    });
}
