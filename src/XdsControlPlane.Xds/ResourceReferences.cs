using Envoy.Config.Cluster.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using TcpProxy = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;

namespace XdsControlPlane.Xds;

/// <summary>
/// The names one resource depends on: a listener's RDS route configurations (and the clusters of inline routes
/// and TCP proxies), a route configuration's clusters, an EDS cluster's endpoint (EDS service) name.
/// </summary>
/// <param name="RouteConfigurations">RDS names a listener loads.</param>
/// <param name="Clusters">Clusters routes or TCP proxies send traffic to.</param>
/// <param name="EdsServices">EDS names a cluster loads its endpoints from.</param>
public sealed record ResourceReferences(IReadOnlyList<string> RouteConfigurations, IReadOnlyList<string> Clusters, IReadOnlyList<string> EdsServices)
{
    /// <summary>No references.</summary>
    public static ResourceReferences None { get; } = new([], [], []);

    /// <summary>Clusters that <paramref name="routesAndListeners"/> send traffic to.</summary>
    public static IEnumerable<string> ClustersUsedBy(IEnumerable<XdsResource> routesAndListeners) =>
        routesAndListeners.SelectMany(r => r.References.Clusters);

    /// <summary>Reads the references out of a resource (unpacking HTTP connection manager and TCP proxy configs).</summary>
    public static ResourceReferences Of(IMessage message) => message switch
    {
        Listener listener => OfListener(listener),
        RouteConfiguration routes => new([], ClustersOf(routes).Distinct().Order(StringComparer.Ordinal).ToArray(), []),
        Cluster { ClusterDiscoveryTypeCase: Cluster.ClusterDiscoveryTypeOneofCase.Type, Type: Cluster.Types.DiscoveryType.Eds } cluster =>
            new([], [], [string.IsNullOrEmpty(cluster.EdsClusterConfig?.ServiceName) ? cluster.Name : cluster.EdsClusterConfig.ServiceName]),
        _ => None,
    };

    private static ResourceReferences OfListener(Listener listener)
    {
        var routeNames = new SortedSet<string>(StringComparer.Ordinal);
        var clusters = new SortedSet<string>(StringComparer.Ordinal);
        var configs = listener.FilterChains.Append(listener.DefaultFilterChain).Where(chain => chain is not null)
            .SelectMany(chain => chain.Filters)
            .Select(filter => filter.TypedConfig)
            .Append(listener.ApiListener?.ApiListener_)
            .OfType<Any>();
        foreach (var config in configs)
        {
            if (config.TryUnpack<Hcm>(out var hcm))
            {
                if (hcm.Rds is { } rds)
                {
                    routeNames.Add(rds.RouteConfigName);
                }

                if (hcm.RouteConfig is { } inline)
                {
                    clusters.UnionWith(ClustersOf(inline));
                }
            }
            else if (config.TryUnpack<TcpProxy>(out var tcp))
            {
                if (!string.IsNullOrEmpty(tcp.Cluster))
                {
                    clusters.Add(tcp.Cluster);
                }

                clusters.UnionWith(tcp.WeightedClusters?.Clusters.Select(c => c.Name) ?? []);
            }
        }

        return new ResourceReferences(routeNames.ToArray(), clusters.ToArray(), []);
    }

    private static IEnumerable<string> ClustersOf(RouteConfiguration routes) =>
        routes.VirtualHosts.SelectMany(host => host.Routes)
            .Select(route => route.Route_)
            .OfType<RouteAction>()
            .SelectMany(action => action.ClusterSpecifierCase switch
            {
                RouteAction.ClusterSpecifierOneofCase.Cluster => [action.Cluster],
                RouteAction.ClusterSpecifierOneofCase.WeightedClusters => action.WeightedClusters.Clusters.Select(c => c.Name),
                _ => [],
            });
}
