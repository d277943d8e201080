namespace XdsControlPlane.Translation;

/// <summary>
/// What translation does not read from the resources: where the routing key travels, cluster defaults, listener
/// ports, the tunnel broker's address. Defaults in one place; <see cref="Validate"/> lists every problem.
/// </summary>
public sealed record TranslationOptions
{
    /// <summary>Header that carries the routing key.</summary>
    public string RoutingKeyHeader { get; init; } = "x-routing-key";

    /// <summary>Member of the W3C <c>baggage</c> header that carries the routing key.</summary>
    public string BaggageMember { get; init; } = "routing-key";

    /// <summary>Cookie that carries the routing key at gateways.</summary>
    public string CookieName { get; init; } = "routing-key";

    /// <summary>Query parameter that carries the routing key at gateways.</summary>
    public string QueryParameter { get; init; } = "routing-key";

    /// <summary>The cluster's DNS domain (<c>svc.ns.svc.cluster.local</c>).</summary>
    public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>Port of the gateway's HTTP listener.</summary>
    public int GatewayPort { get; init; } = 8080;

    /// <summary>Port sidecars capture outbound traffic on (Istio's 15001).</summary>
    public int SidecarOutboundPort { get; init; } = 15001;

    /// <summary>Upstream connect timeout.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Circuit breaker: maximum connections per upstream cluster.</summary>
    public uint MaxConnections { get; init; } = 4096;

    /// <summary>Circuit breaker: maximum pending requests per upstream cluster.</summary>
    public uint MaxPendingRequests { get; init; } = 4096;

    /// <summary>Circuit breaker: maximum concurrent requests per upstream cluster.</summary>
    public uint MaxRequests { get; init; } = 4096;

    /// <summary>Circuit breaker: maximum concurrent retries per upstream cluster.</summary>
    public uint MaxRetries { get; init; } = 64;

    /// <summary>Outlier detection: consecutive 5xx responses that eject an endpoint.</summary>
    public uint OutlierConsecutive5xx { get; init; } = 5;

    /// <summary>Outlier detection: how often ejection is evaluated.</summary>
    public TimeSpan OutlierInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Outlier detection: base ejection time.</summary>
    public TimeSpan OutlierBaseEjectionTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Outlier detection: the most endpoints (percent) ejected at once.</summary>
    public uint OutlierMaxEjectionPercent { get; init; } = 50;

    /// <summary>Host name of the tunnel broker that carries traffic to LocalWorkloads.</summary>
    public string TunnelBrokerHost { get; init; } = "xds-control-plane.sandboxctl-system.svc.cluster.local";

    /// <summary>Port of the tunnel broker.</summary>
    public int TunnelBrokerPort { get; init; } = 18001;

    /// <summary>Every problem with these options; empty when they are usable.</summary>
    public IEnumerable<string> Validate()
    {
        foreach (var (name, value) in new[] { (nameof(RoutingKeyHeader), RoutingKeyHeader), (nameof(BaggageMember), BaggageMember), (nameof(CookieName), CookieName), (nameof(QueryParameter), QueryParameter) })
        {
            if (string.IsNullOrWhiteSpace(value) || value.Any(c => char.IsWhiteSpace(c) || c is ',' or ';' or '='))
            {
                yield return $"{name} must be a non-empty token without spaces, ',', ';' or '=', got '{value}'.";
            }
        }

        if (!string.Equals(RoutingKeyHeader, RoutingKeyHeader.ToLowerInvariant(), StringComparison.Ordinal))
        {
            yield return $"{nameof(RoutingKeyHeader)} must be lower case, got '{RoutingKeyHeader}'.";
        }

        foreach (var (name, port) in new[] { (nameof(GatewayPort), GatewayPort), (nameof(SidecarOutboundPort), SidecarOutboundPort), (nameof(TunnelBrokerPort), TunnelBrokerPort) })
        {
            if (port is < 1 or > 65535)
            {
                yield return $"{name} must be between 1 and 65535, got {port}.";
            }
        }

        if (ConnectTimeout <= TimeSpan.Zero)
        {
            yield return $"{nameof(ConnectTimeout)} must be positive.";
        }

        if (OutlierMaxEjectionPercent > 100)
        {
            yield return $"{nameof(OutlierMaxEjectionPercent)} must be at most 100, got {OutlierMaxEjectionPercent}.";
        }
    }
}
