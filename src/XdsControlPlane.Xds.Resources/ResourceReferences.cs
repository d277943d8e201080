using Envoy.Config.Cluster.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using ExtAuthz = Envoy.Extensions.Filters.Http.ExtAuthz.V3.ExtAuthz;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using TcpProxy = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;

namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// The names one resource depends on: a listener's RDS route configurations (and the clusters of inline routes, TCP
/// proxies and ext_authz gRPC/HTTP services), a routing scope's route configuration, a route configuration's clusters (mirror policies included), an EDS
/// cluster's endpoint (EDS service) name, and the SDS secrets (fetched over ADS) of TLS transport sockets.
/// </summary>
/// <param name="RouteConfigurations">RDS names a listener or a routing scope loads.</param>
/// <param name="Clusters">Clusters routes, mirror policies, TCP proxies or filters' services send traffic to.</param>
/// <param name="EdsServices">EDS names a cluster loads its endpoints from.</param>
/// <param name="Secrets">SDS secrets a listener's or cluster's TLS context loads over ADS.</param>
public sealed record ResourceReferences(IReadOnlyList<string> RouteConfigurations, IReadOnlyList<string> Clusters, IReadOnlyList<string> EdsServices, IReadOnlyList<string> Secrets)
{
    /// <summary>No references.</summary>
    public static ResourceReferences None { get; } = new([], [], [], []);

    /// <summary>
    /// Reads the references out of a resource (unpacking HTTP connection manager and TCP proxy configs), as its type's
    /// entry in <see cref="XdsResourceTypes"/> says; none for a type that refers to nothing or is not distributed.
    /// </summary>
    public static ResourceReferences Of(IMessage message) =>
        message is not null && XdsResourceTypes.Find(message) is { } type ? type.ReferencesOf(message) : None;

    /// <summary>The clusters a route configuration's routes and mirror policies send traffic to.</summary>
    internal static ResourceReferences OfRouteConfiguration(RouteConfiguration routes) =>
        new([], ClustersOf(routes).Distinct().Order(StringComparer.Ordinal).ToArray(), [], []);

    /// <summary>The route configuration a routing scope loads over RDS (translation never puts one inline).</summary>
    internal static ResourceReferences OfScopedRouteConfiguration(ScopedRouteConfiguration scope) =>
        string.IsNullOrEmpty(scope.RouteConfigurationName) ? None : new([scope.RouteConfigurationName], [], [], []);

    /// <summary>An EDS cluster's EDS service name and the SDS secrets of its TLS transport sockets.</summary>
    internal static ResourceReferences OfCluster(Cluster cluster)
    {
        string[] eds = cluster is { ClusterDiscoveryTypeCase: Cluster.ClusterDiscoveryTypeOneofCase.Type, Type: Cluster.Types.DiscoveryType.Eds }
            ? [string.IsNullOrEmpty(cluster.EdsClusterConfig?.ServiceName) ? cluster.Name : cluster.EdsClusterConfig.ServiceName]
            : [];
        var secrets = SecretsOf(cluster.TransportSocket).Concat(cluster.TransportSocketMatches.SelectMany(m => SecretsOf(m.TransportSocket)));
        return eds.Length == 0 && !secrets.Any() ? None : new([], [], eds, [.. secrets.Distinct().Order(StringComparer.Ordinal)]);
    }

    /// <summary>The SDS secrets a TLS transport socket loads over ADS (secrets with another or no config source are not ours).</summary>
    private static IEnumerable<string> SecretsOf(TransportSocket? socket)
    {
        CommonTlsContext? common = socket?.TypedConfig switch
        {
            { } any when TypedConfigs.TryUnpack<UpstreamTlsContext>(any, out var upstream) => upstream.CommonTlsContext,
            { } any when TypedConfigs.TryUnpack<DownstreamTlsContext>(any, out var downstream) => downstream.CommonTlsContext,
            _ => null,
        };
        if (common is null)
        {
            return [];
        }

        SdsSecretConfig?[] configs =
        [
            .. common.TlsCertificateSdsSecretConfigs,
            common.ValidationContextSdsSecretConfig,
            common.CombinedValidationContext?.ValidationContextSdsSecretConfig,
        ];
        return configs.OfType<SdsSecretConfig>()
            .Where(c => c.SdsConfig?.ConfigSourceSpecifierCase == ConfigSource.ConfigSourceSpecifierOneofCase.Ads && !string.IsNullOrEmpty(c.Name))
            .Select(c => c.Name);
    }

    /// <summary>A listener's RDS names, the clusters of its inline routes, TCP proxies and ext_authz filters, and its SDS secrets.</summary>
    internal static ResourceReferences OfListener(Listener listener)
    {
        var routeNames = new SortedSet<string>(StringComparer.Ordinal);
        var clusters = new SortedSet<string>(StringComparer.Ordinal);
        var chains = listener.FilterChains.Append(listener.DefaultFilterChain).Where(chain => chain is not null).ToList();
        var secrets = new SortedSet<string>(chains.SelectMany(chain => SecretsOf(chain.TransportSocket)), StringComparer.Ordinal);
        var configs = chains
            .SelectMany(chain => chain.Filters)
            .Select(filter => filter.TypedConfig)
            .Append(listener.ApiListener?.ApiListener_)
            .OfType<Any>();
        foreach (var config in configs)
        {
            if (TypedConfigs.TryUnpack<Hcm>(config, out var hcm))
            {
                if (hcm.Rds is { } rds)
                {
                    routeNames.Add(rds.RouteConfigName);
                }

                if (hcm.RouteConfig is { } inline)
                {
                    clusters.UnionWith(ClustersOf(inline));
                }

                clusters.UnionWith(hcm.HttpFilters.Select(f => f.TypedConfig).OfType<Any>().SelectMany(ClustersOfHttpFilter));
            }
            else if (TypedConfigs.TryUnpack<TcpProxy>(config, out var tcp))
            {
                if (!string.IsNullOrEmpty(tcp.Cluster))
                {
                    clusters.Add(tcp.Cluster);
                }

                clusters.UnionWith(tcp.WeightedClusters?.Clusters.Select(c => c.Name) ?? []);
            }
        }

        return new ResourceReferences(routeNames.ToArray(), clusters.ToArray(), [], secrets.ToArray());
    }

    /// <summary>The cluster an HTTP filter calls out to: ext_authz's gRPC (Envoy gRPC client) or HTTP service.</summary>
    private static IEnumerable<string> ClustersOfHttpFilter(Any config)
    {
        if (!TypedConfigs.TryUnpack<ExtAuthz>(config, out var authz))
        {
            yield break;
        }

        if (authz.GrpcService?.EnvoyGrpc?.ClusterName is { Length: > 0 } grpc)
        {
            yield return grpc;
        }

        if (authz.HttpService?.ServerUri?.Cluster is { Length: > 0 } http)
        {
            yield return http;
        }
    }

    private static IEnumerable<string> ClustersOf(RouteConfiguration routes) =>
        routes.VirtualHosts.SelectMany(host => host.Routes)
            .Select(route => route.Route_)
            .OfType<RouteAction>()
            .SelectMany(action => (action.ClusterSpecifierCase switch
            {
                RouteAction.ClusterSpecifierOneofCase.Cluster => [action.Cluster],
                RouteAction.ClusterSpecifierOneofCase.WeightedClusters => action.WeightedClusters.Clusters.Select(c => c.Name),
                _ => [],
            }).Concat(action.RequestMirrorPolicies.Select(m => m.Cluster)))
            .Concat(routes.VirtualHosts.SelectMany(host => host.RequestMirrorPolicies).Select(m => m.Cluster))
            .Where(name => name.Length > 0);
}
