namespace XdsControlPlane.Xds;

/// <summary>The xDS resource type URLs this server distributes, and the order it pushes them in.</summary>
public static class TypeUrls
{
    private const string Prefix = "type.googleapis.com/";

    /// <summary>LDS: <c>envoy.config.listener.v3.Listener</c>.</summary>
    public const string Listener = Prefix + "envoy.config.listener.v3.Listener";

    /// <summary>RDS: <c>envoy.config.route.v3.RouteConfiguration</c>.</summary>
    public const string RouteConfiguration = Prefix + "envoy.config.route.v3.RouteConfiguration";

    /// <summary>CDS: <c>envoy.config.cluster.v3.Cluster</c>.</summary>
    public const string Cluster = Prefix + "envoy.config.cluster.v3.Cluster";

    /// <summary>EDS: <c>envoy.config.endpoint.v3.ClusterLoadAssignment</c>.</summary>
    public const string ClusterLoadAssignment = Prefix + "envoy.config.endpoint.v3.ClusterLoadAssignment";

    /// <summary>SDS: <c>envoy.extensions.transport_sockets.tls.v3.Secret</c>.</summary>
    public const string Secret = Prefix + "envoy.extensions.transport_sockets.tls.v3.Secret";

    /// <summary>
    /// Make-before-break push order: secrets and clusters before the endpoints that warm them, listeners before
    /// the routes they load, so a route never points at a cluster the client has not been sent.
    /// </summary>
    public static IReadOnlyList<string> PushOrder { get; } = [Secret, Cluster, ClusterLoadAssignment, Listener, RouteConfiguration];

    /// <summary>Types whose State-of-the-World responses carry the full set and whose empty first request means "all".</summary>
    public static bool IsWildcardCapable(string typeUrl) => typeUrl is Listener or Cluster;

    /// <summary>True for the types this server knows.</summary>
    public static bool IsKnown(string typeUrl) => PushOrder.Contains(typeUrl);

    /// <summary>Short name for logs and metrics: LDS, RDS, CDS, EDS, SDS.</summary>
    public static string ShortName(string typeUrl) => typeUrl switch
    {
        Listener => "LDS",
        RouteConfiguration => "RDS",
        Cluster => "CDS",
        ClusterLoadAssignment => "EDS",
        Secret => "SDS",
        _ => "unknown",
    };
}
