using System.Collections.Frozen;
using Google.Protobuf;
using Cluster = Envoy.Config.Cluster.V3.Cluster;
using ClusterLoadAssignment = Envoy.Config.Endpoint.V3.ClusterLoadAssignment;
using Listener = Envoy.Config.Listener.V3.Listener;
using RouteConfiguration = Envoy.Config.Route.V3.RouteConfiguration;
using ScopedRouteConfiguration = Envoy.Config.Route.V3.ScopedRouteConfiguration;
using Secret = Envoy.Extensions.TransportSockets.Tls.V3.Secret;

namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// The table of xDS resource types this server distributes, one entry each (as go-control-plane's
/// <c>pkg/cache/v3/resource.go</c>): <see cref="XdsResource"/> reads names and references through it, the snapshot's
/// consistency check (<see cref="SnapshotConsistency"/>) its references, and the xDS streams its push order, full-set
/// types, kept types and re-sent references. Adding a type is one entry here, plus the translator that makes its
/// resources.
/// </summary>
public static class XdsResourceTypes
{
    /// <summary>
    /// Every type, in make-before-break push order: secrets and clusters before the endpoints that warm them,
    /// listeners before the scopes and routes they load (Envoy warms a listener, and subscribes to a scope's routes, when
    /// it learns of them), so a route never points at a cluster the client has not been sent.
    /// </summary>
    public static IReadOnlyList<XdsResourceType> All { get; } =
    [
        XdsResourceType.Of<Secret>(TypeUrls.Secret, "SDS", s => s.Name),
        XdsResourceType.Of<Cluster>(
            TypeUrls.Cluster,
            "CDS",
            c => c.Name,
            ResourceReferences.OfCluster,
            [
                new(TypeUrls.ClusterLoadAssignment, r => r.EdsServices, "loads endpoints from", ResentAfterReferrerChanges: true),
                new(TypeUrls.Secret, r => r.Secrets, "loads the secret"),
            ],
            sotwFullSet: true,
            keptWhileReferenced: true),
        XdsResourceType.Of<ClusterLoadAssignment>(TypeUrls.ClusterLoadAssignment, "EDS", e => e.ClusterName),
        XdsResourceType.Of<Listener>(
            TypeUrls.Listener,
            "LDS",
            l => l.Name,
            ResourceReferences.OfListener,
            [
                new(TypeUrls.RouteConfiguration, r => r.RouteConfigurations, "loads routes from"),
                new(TypeUrls.Cluster, r => r.Clusters, "sends traffic to"),
                new(TypeUrls.Secret, r => r.Secrets, "loads the secret"),
            ],
            sotwFullSet: true),

        // A gateway's routing scopes (TranslationOptions.ScopedRoutes): Envoy subscribes to every scope (a wildcard) and
        // drops, in State of the World, the scopes a response leaves out (envoy source/common/router/scoped_rds.cc).
        XdsResourceType.Of<ScopedRouteConfiguration>(
            TypeUrls.ScopedRouteConfiguration,
            "SRDS",
            s => s.Name,
            ResourceReferences.OfScopedRouteConfiguration,
            [new(TypeUrls.RouteConfiguration, r => r.RouteConfigurations, "loads routes from")],
            sotwFullSet: true),
        XdsResourceType.Of<RouteConfiguration>(
            TypeUrls.RouteConfiguration,
            "RDS",
            r => r.Name,
            ResourceReferences.OfRouteConfiguration,
            [new(TypeUrls.Cluster, r => r.Clusters, "routes to")]),
    ];

    private static readonly FrozenDictionary<string, XdsResourceType> ByTypeUrl = All.ToFrozenDictionary(t => t.TypeUrl, StringComparer.Ordinal);
    private static readonly FrozenDictionary<string, int> Positions = All.Select((t, i) => (t.TypeUrl, i)).ToFrozenDictionary(p => p.TypeUrl, p => p.i, StringComparer.Ordinal);
    private static readonly FrozenDictionary<Type, XdsResourceType> ByClrType = All.ToFrozenDictionary(t => t.ClrType);

    private static readonly FrozenDictionary<string, (XdsResourceType Referrer, TypeReference Reference)[]> Referrers =
        All.SelectMany(t => t.References.Select(r => (Referrer: t, Reference: r)))
            .GroupBy(p => p.Reference.TypeUrl, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);

    /// <summary>The entry of <paramref name="typeUrl"/>, or <see langword="null"/> for a type this server does not distribute.</summary>
    public static XdsResourceType? Find(string typeUrl) => ByTypeUrl.GetValueOrDefault(typeUrl);

    /// <summary>The entry of <paramref name="message"/>'s type, or <see langword="null"/> for a type this server does not distribute.</summary>
    public static XdsResourceType? Find(IMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return ByClrType.GetValueOrDefault(message.GetType());
    }

    /// <summary>
    /// The references to <paramref name="typeUrl"/> and the types that declare them (for clusters: listeners and
    /// route configurations), in push order.
    /// </summary>
    public static IReadOnlyList<(XdsResourceType Referrer, TypeReference Reference)> ReferencesTo(string typeUrl) =>
        Referrers.TryGetValue(typeUrl, out var referrers) ? referrers : [];

    /// <summary>The position of <paramref name="type"/> in <see cref="All"/>.</summary>
    internal static int PushOrderOf(XdsResourceType type) => Positions[type.TypeUrl];
}
