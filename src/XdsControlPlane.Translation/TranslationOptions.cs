namespace XdsControlPlane.Translation;

/// <summary>
/// What translation does not read from the resources: where the routing key travels, cluster defaults, listener
/// ports. Defaults in one place; <see cref="Validate"/> lists every problem.
/// </summary>
public sealed record TranslationOptions
{
    /// <summary>The longest <see cref="PreviewDomain"/>: a host name is at most 253 characters and its first label takes up to 64.</summary>
    public const int MaxPreviewDomainLength = 253 - 64;

    /// <summary>The longest <see cref="PreviewSalt"/>.</summary>
    public const int MaxPreviewSaltLength = 256;

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

    /// <summary>
    /// Port of the gateway's HTTPS listener (<see cref="GatewayTls"/>): the same routes as <see cref="GatewayPort"/>,
    /// served with the certificate the gateway loads over SDS (<see cref="GatewayTlsSecret"/>).
    /// </summary>
    public int GatewayHttpsPort { get; init; } = 8443;

    /// <summary>
    /// The gateway serves HTTPS on <see cref="GatewayHttpsPort"/> and redirects plain HTTP for the hosts that are not a
    /// Service port's (preview hosts) to it. The server sets this when a gateway certificate is configured
    /// (<c>--gateway-tls-secret</c>, or <c>--gateway-tls-cert-file</c> and <c>--gateway-tls-key-file</c>).
    /// </summary>
    public bool GatewayTls { get; init; }

    /// <summary>
    /// Experimental, off by default until a real Envoy has run it: the gateway loads its routes through scoped RDS — one
    /// routing scope per host name (the <c>:authority</c> header without its port), each loading the route configuration
    /// of one Service (a virtual host per port) — so a change re-sends that Service's routes instead of every Service's.
    /// Sidecars and proxyless gRPC clients (which have no SRDS) are unchanged. See docs/xds-server.md.
    /// </summary>
    public bool ScopedRoutes { get; init; }

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

    /// <summary>Outlier detection (Envoy only; gRPC clients have no such detector): consecutive 5xx responses that eject an endpoint.</summary>
    public uint OutlierConsecutive5xx { get; init; } = 5;

    /// <summary>Outlier detection (every data plane): an endpoint whose share of failed requests in an interval exceeds this percentage is ejected.</summary>
    public uint OutlierFailurePercentageThreshold { get; init; } = 85;

    /// <summary>Outlier detection (every data plane): the requests an endpoint must have had in an interval before its failure percentage counts.</summary>
    public uint OutlierFailurePercentageRequestVolume { get; init; } = 10;

    /// <summary>Outlier detection (every data plane): the endpoints that must each reach the request volume before any is ejected by failure percentage.</summary>
    public uint OutlierFailurePercentageMinimumHosts { get; init; } = 2;

    /// <summary>Outlier detection: how often ejection is evaluated.</summary>
    public TimeSpan OutlierInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Outlier detection: base ejection time (multiplied by the number of times an endpoint was ejected in a row).</summary>
    public TimeSpan OutlierBaseEjectionTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Outlier detection: the longest an endpoint stays ejected.</summary>
    public TimeSpan OutlierMaxEjectionTime { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>Outlier detection: the most endpoints (percent) ejected at once.</summary>
    public uint OutlierMaxEjectionPercent { get; init; } = 50;

    /// <summary>
    /// The DNS domain of preview URLs (<c>preview.example.com</c>): each preview of a Sandbox or LocalWorkload gets a
    /// gateway virtual host <c>&lt;service&gt;-&lt;port&gt;-&lt;hash&gt;.&lt;domain&gt;</c> (<see cref="Model.PreviewHostNames"/>).
    /// Empty (the default): no preview hosts, and the gateway runs no preview filters.
    /// </summary>
    public string PreviewDomain { get; init; } = "";

    /// <summary>Mixed into the hash of every preview host name, so names cannot be guessed from namespace and name; the same on every replica.</summary>
    public string PreviewSalt { get; init; } = "";

    /// <summary>The default rate limit of each preview host, in requests per second (a Sandbox's or LocalWorkload's <c>spec.previewRateLimit</c> overrides it).</summary>
    public int PreviewRequestsPerSecond { get; init; } = 50;

    /// <summary>The default burst of each preview host's rate limit, in requests.</summary>
    public int PreviewBurst { get; init; } = 100;

    /// <summary>Whether previews are on (<see cref="PreviewDomain"/> is set).</summary>
    public bool PreviewsEnabled => !string.IsNullOrEmpty(PreviewDomain);

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

        foreach (var (name, port) in new[] { (nameof(GatewayPort), GatewayPort), (nameof(GatewayHttpsPort), GatewayHttpsPort), (nameof(SidecarOutboundPort), SidecarOutboundPort) })
        {
            if (port is < 1 or > 65535)
            {
                yield return $"{name} must be between 1 and 65535, got {port}.";
            }
        }

        if (GatewayTls && GatewayHttpsPort == GatewayPort)
        {
            yield return $"{nameof(GatewayHttpsPort)} must differ from {nameof(GatewayPort)}, both are {GatewayPort}.";
        }

        if (ConnectTimeout <= TimeSpan.Zero)
        {
            yield return $"{nameof(ConnectTimeout)} must be positive.";
        }

        foreach (var (name, percent) in new[] { (nameof(OutlierMaxEjectionPercent), OutlierMaxEjectionPercent), (nameof(OutlierFailurePercentageThreshold), OutlierFailurePercentageThreshold) })
        {
            if (percent > 100)
            {
                yield return $"{name} must be at most 100, got {percent}.";
            }
        }

        foreach (var (name, duration) in new[] { (nameof(OutlierInterval), OutlierInterval), (nameof(OutlierBaseEjectionTime), OutlierBaseEjectionTime), (nameof(OutlierMaxEjectionTime), OutlierMaxEjectionTime) })
        {
            // Envoy requires positive durations here; a day is far beyond any sensible setting and well inside protobuf's range.
            if (duration <= TimeSpan.Zero || duration > TimeSpan.FromDays(1))
            {
                yield return $"{name} must be positive and at most 24h, got {duration}.";
            }
        }

        foreach (var problem in PreviewProblems())
        {
            yield return problem;
        }

        if (OutlierMaxEjectionTime < OutlierBaseEjectionTime)
        {
            yield return $"{nameof(OutlierMaxEjectionTime)} ({OutlierMaxEjectionTime}) must not be shorter than {nameof(OutlierBaseEjectionTime)} ({OutlierBaseEjectionTime}).";
        }
    }

    private IEnumerable<string> PreviewProblems()
    {
        var domain = PreviewDomain ?? "";
        if (domain.Length > 0)
        {
            var labels = domain.Split('.');
            if (domain.Length > MaxPreviewDomainLength || labels.Length < 2 || !labels.All(Model.SchemaPatterns.IsDnsLabel))
            {
                yield return $"{nameof(PreviewDomain)} must be a lower-case DNS name of at least two labels and at most {MaxPreviewDomainLength} characters (preview.example.com), got '{(domain.Length > 300 ? domain[..300] + "…" : domain)}'.";
            }
            else if (domain == ClusterDomain || domain.EndsWith("." + ClusterDomain, StringComparison.Ordinal))
            {
                yield return $"{nameof(PreviewDomain)} must not be under the cluster domain {ClusterDomain} (its names are Services'), got '{domain}'.";
            }
        }

        if ((PreviewSalt ?? "").Length > MaxPreviewSaltLength || (PreviewSalt ?? "").Any(char.IsControl))
        {
            yield return $"{nameof(PreviewSalt)} must be at most {MaxPreviewSaltLength} characters without control characters.";
        }

        if (PreviewRequestsPerSecond is < 1 or > Model.PreviewRateLimit.MaxRequestsPerSecond)
        {
            yield return $"{nameof(PreviewRequestsPerSecond)} must be from 1 to {Model.PreviewRateLimit.MaxRequestsPerSecond}, got {PreviewRequestsPerSecond}.";
        }

        if (PreviewBurst is < 1 or > Model.PreviewRateLimit.MaxBurst || PreviewBurst < PreviewRequestsPerSecond)
        {
            yield return $"{nameof(PreviewBurst)} must be from {nameof(PreviewRequestsPerSecond)} ({PreviewRequestsPerSecond}) to {Model.PreviewRateLimit.MaxBurst}, got {PreviewBurst}.";
        }
    }
}
