namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// Names for the type URLs of the xDS resource types this server distributes, and lookups by type URL in their table,
/// <see cref="XdsResourceTypes"/>.
/// </summary>
public static class TypeUrls
{
    /// <summary>LDS: <c>envoy.config.listener.v3.Listener</c>.</summary>
    public const string Listener = Prefix + "envoy.config.listener.v3.Listener";

    /// <summary>SRDS: <c>envoy.config.route.v3.ScopedRouteConfiguration</c> (a gateway's routing scopes, <c>--scoped-routes</c>).</summary>
    public const string ScopedRouteConfiguration = Prefix + "envoy.config.route.v3.ScopedRouteConfiguration";

    /// <summary>RDS: <c>envoy.config.route.v3.RouteConfiguration</c>.</summary>
    public const string RouteConfiguration = Prefix + "envoy.config.route.v3.RouteConfiguration";

    /// <summary>CDS: <c>envoy.config.cluster.v3.Cluster</c>.</summary>
    public const string Cluster = Prefix + "envoy.config.cluster.v3.Cluster";

    /// <summary>EDS: <c>envoy.config.endpoint.v3.ClusterLoadAssignment</c>.</summary>
    public const string ClusterLoadAssignment = Prefix + "envoy.config.endpoint.v3.ClusterLoadAssignment";

    /// <summary>SDS: <c>envoy.extensions.transport_sockets.tls.v3.Secret</c>.</summary>
    public const string Secret = Prefix + "envoy.extensions.transport_sockets.tls.v3.Secret";

    /// <summary>What every type URL starts with, before the message's full name.</summary>
    internal const string Prefix = "type.googleapis.com/";

    /// <summary>Every type's URL in push order (<see cref="XdsResourceTypes.All"/>).</summary>
    public static IReadOnlyList<string> PushOrder { get; } = [.. XdsResourceTypes.All.Select(t => t.TypeUrl)];

    /// <summary>True for the types this server distributes.</summary>
    public static bool IsKnown(string typeUrl) => XdsResourceTypes.Find(typeUrl) is not null;

    /// <summary>Short name for logs and metrics (<see cref="XdsResourceType.ShortName"/>), or <c>unknown</c>.</summary>
    public static string ShortName(string typeUrl) => XdsResourceTypes.Find(typeUrl)?.ShortName ?? "unknown";
}
