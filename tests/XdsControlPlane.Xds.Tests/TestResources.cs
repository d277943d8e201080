using Envoy.Config.Cluster.V3;
using Filter = Envoy.Config.Listener.V3.Filter;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf.WellKnownTypes;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;

namespace XdsControlPlane.Xds.Tests;

/// <summary>Small, consistent xDS resources for protocol tests.</summary>
internal static class TestResources
{
    public static ConfigSource Ads() => new() { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };

    public static XdsResource Listener(string name, string routeName) => XdsResource.Create(new Listener
    {
        Name = name,
        Address = new Address { SocketAddress = new SocketAddress { Address = "0.0.0.0", PortValue = 8080 } },
        FilterChains =
        {
            new FilterChain
            {
                Filters =
                {
                    new Filter
                    {
                        Name = "envoy.filters.network.http_connection_manager",
                        TypedConfig = Any.Pack(new Hcm.HttpConnectionManager
                        {
                            StatPrefix = name,
                            Rds = new Hcm.Rds { RouteConfigName = routeName, ConfigSource = Ads() },
                            HttpFilters = { new Hcm.HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) } },
                        }),
                    },
                },
            },
        },
    });

    public static XdsResource Routes(string name, params string[] clusters) => XdsResource.Create(new RouteConfiguration
    {
        Name = name,
        VirtualHosts =
        {
            new VirtualHost
            {
                Name = "all",
                Domains = { "*" },
                Routes = { clusters.Select(c => new Route { Match = new RouteMatch { Prefix = "/" + c }, Route_ = new RouteAction { Cluster = c } }) },
            },
        },
    });

    public static XdsResource Cluster(string name, int connectTimeoutSeconds = 1) => XdsResource.Create(new Cluster
    {
        Name = name,
        Type = global::Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Eds,
        EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = Ads() },
        ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(connectTimeoutSeconds)),
    });

    public static XdsResource Endpoints(string cluster, params uint[] ports) => XdsResource.Create(new ClusterLoadAssignment
    {
        ClusterName = cluster,
        Endpoints =
        {
            new LocalityLbEndpoints
            {
                Locality = new Locality { Zone = "zone-a" },
                LoadBalancingWeight = 1,
                LbEndpoints =
                {
                    ports.Select(p => new LbEndpoint
                    {
                        Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = "127.0.0.1", PortValue = p } } },
                    }),
                },
            },
        },
    });

    /// <summary>A consistent snapshot: listener → routes → the given clusters, each with endpoints on port 9000+i.</summary>
    public static Snapshot Snapshot(params string[] clusters) => Snapshot(clusters, port: 9000);

    public static Snapshot Snapshot(string[] clusters, uint port) => global::XdsControlPlane.Xds.Resources.Snapshot.Create(
        new[] { Listener("http", "routes"), Routes("routes", clusters) }
            .Concat(clusters.Select(c => Cluster(c)))
            .Concat(clusters.Select(c => Endpoints(c, port))));
}
