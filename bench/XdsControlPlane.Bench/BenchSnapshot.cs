using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Endpoint = Envoy.Config.Endpoint.V3.Endpoint;
using Route = Envoy.Config.Route.V3.Route;
using Google.Protobuf.WellKnownTypes;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;

namespace XdsControlPlane.Bench;

/// <summary>The benchmark's snapshot: 50 listeners → 50 route configurations → 50 EDS clusters with 4 endpoints each (200).</summary>
internal static class BenchSnapshot
{
    public const int Count = 50;

    public static IEnumerable<string> RouteNames => Enumerable.Range(0, Count).Select(i => $"routes-{i}");

    public static IEnumerable<string> ClusterNames => Enumerable.Range(0, Count).Select(i => $"cluster-{i}");

    /// <summary>Generation <paramref name="generation"/>: every cluster, endpoint set and route differs between generations.</summary>
    public static Snapshot Create(int generation)
    {
        var ads = new ConfigSource { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };
        var resources = new List<XdsResource>();
        for (var i = 0; i < Count; i++)
        {
            resources.Add(XdsResource.Create(new Listener
            {
                Name = $"listener-{i}",
                Address = new Address { SocketAddress = new SocketAddress { Address = "0.0.0.0", PortValue = (uint)(10000 + i) } },
                FilterChains =
                {
                    new FilterChain
                    {
                        Filters =
                        {
                            new Envoy.Config.Listener.V3.Filter
                            {
                                Name = "envoy.filters.network.http_connection_manager",
                                TypedConfig = Any.Pack(new Hcm.HttpConnectionManager
                                {
                                    StatPrefix = $"listener_{i}",
                                    Rds = new Hcm.Rds { RouteConfigName = $"routes-{i}", ConfigSource = ads },
                                    HttpFilters = { new Hcm.HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) } },
                                }),
                            },
                        },
                    },
                },
            }));
            resources.Add(XdsResource.Create(new RouteConfiguration
            {
                Name = $"routes-{i}",
                VirtualHosts =
                {
                    new VirtualHost
                    {
                        Name = $"service-{i}",
                        Domains = { $"service-{i}", $"service-{i}.shop", $"service-{i}.shop.svc.cluster.local" },
                        Routes =
                        {
                            new Route
                            {
                                Match = new RouteMatch { Prefix = "/", Headers = { new HeaderMatcher { Name = "x-routing-key", StringMatch = new Envoy.Type.Matcher.V3.StringMatcher { Exact = $"feature-{generation}" } } } },
                                Route_ = new RouteAction { Cluster = $"cluster-{(i + 1) % Count}" },
                            },
                            new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = $"cluster-{i}" } },
                        },
                    },
                },
            }));
            resources.Add(XdsResource.Create(new Cluster
            {
                Name = $"cluster-{i}",
                Type = Cluster.Types.DiscoveryType.Eds,
                EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = ads },
                ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1000 + generation)),
            }));
            resources.Add(XdsResource.Create(new ClusterLoadAssignment
            {
                ClusterName = $"cluster-{i}",
                Endpoints =
                {
                    new LocalityLbEndpoints
                    {
                        Locality = new Locality { Region = "local", Zone = "zone-a" },
                        LoadBalancingWeight = 1,
                        LbEndpoints =
                        {
                            Enumerable.Range(0, 4).Select(e => new LbEndpoint
                            {
                                Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = $"10.{generation % 200}.{i}.{e + 1}", PortValue = 8080 } } },
                            }),
                        },
                    },
                },
            }));
        }

        return Snapshot.Create(resources);
    }
}
