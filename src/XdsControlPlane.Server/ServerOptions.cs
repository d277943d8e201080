using XdsControlPlane.Translation;

namespace XdsControlPlane.Server;

/// <summary>How the server process listens and logs. Defaults are the product's documented ports.</summary>
public sealed class ServerOptions
{
    /// <summary>Default port of the xDS (ADS) gRPC listener.</summary>
    public const int DefaultXdsPort = 18000;

    /// <summary>Default port of the admin HTTP listener.</summary>
    public const int DefaultAdminPort = 19000;

    /// <summary>Default port of the tunnel broker's gRPC listener (local connect agents).</summary>
    public const int DefaultTunnelPort = 18001;

    /// <summary>The environment variable <c>--tunnel-token</c> is read from when the flag is not given.</summary>
    public const string TunnelTokenVariable = "XDSCP_TUNNEL_TOKEN";

    /// <summary>Default maximum age of an xDS stream.</summary>
    public static readonly TimeSpan DefaultMaxStreamAge = XdsControlPlane.Xds.XdsServerOptions.DefaultMaxStreamAge;

    /// <summary>Port for xDS over HTTP/2 (gRPC). 0 picks a free port.</summary>
    public int XdsPort { get; init; } = DefaultXdsPort;

    /// <summary>Port for the admin endpoints over HTTP/1.1 (<c>/healthz</c>). 0 picks a free port.</summary>
    public int AdminPort { get; init; } = DefaultAdminPort;

    /// <summary>Port for the tunnel broker over HTTP/2 (gRPC), where <c>sandboxctl local connect</c> agents connect. 0 picks a free port.</summary>
    public int TunnelPort { get; init; } = DefaultTunnelPort;

    /// <summary>
    /// Manifests mode: the token agents not on this host must present (<c>sandboxctl local connect --token</c>);
    /// <see langword="null"/> (the default) admits agents on loopback only. Kubernetes mode admits agents by the
    /// LocalWorkload's secret hash instead.
    /// </summary>
    public string? TunnelToken { get; init; }

    /// <summary>
    /// The address data planes dial to reach this replica's per-workload listeners (EDS names it): default the
    /// <c>POD_IP</c> environment variable, else 127.0.0.1 with <see cref="Loopback"/>, else this host's first IPv4 address.
    /// </summary>
    public string? TunnelAddress { get; init; }

    /// <summary>The first per-workload listener port (one per LocalWorkload port served by this replica).</summary>
    public int TunnelFirstListenPort { get; init; } = 18100;

    /// <summary>How many per-workload listener ports there are; 0 picks free ports (tests).</summary>
    public int TunnelListenPortCount { get; init; } = 100;

    /// <summary>Bind to loopback only instead of every interface.</summary>
    public bool Loopback { get; init; }

    /// <summary>xDS streams are ended after this long (±10%) so clients rebalance across replicas.</summary>
    public TimeSpan MaxStreamAge { get; init; } = DefaultMaxStreamAge;

    /// <summary>The largest xDS request message accepted, in bytes; a larger one ends its stream with RESOURCE_EXHAUSTED.</summary>
    public int MaxRequestBytes { get; init; } = XdsControlPlane.Xds.XdsServerOptions.DefaultMaxRequestBytes;

    /// <summary>How long an HTTP/2 connection (an xDS client's) may send nothing before the server pings it (Kestrel's <c>KeepAlivePingDelay</c>; at least 1 s).</summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the server waits for any frame after its ping before it closes the connection, so a dead client's streams end and leave the registry (Kestrel's <c>KeepAlivePingTimeout</c>).</summary>
    public TimeSpan KeepAlivePingTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The environment variable <c>--debug-token</c> is read from when the flag is not given (it keeps the token out of the process list).</summary>
    public const string DebugTokenVariable = "XDSCP_DEBUG_TOKEN";

    /// <summary>The shortest debug token accepted.</summary>
    public const int MinDebugTokenLength = 16;

    /// <summary>
    /// The bearer token that lets clients not on loopback read <c>/debug</c>; <see langword="null"/> (the default) serves
    /// <c>/debug</c> to loopback clients only. <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c> are open either way.
    /// </summary>
    public string? DebugToken { get; init; }

    /// <summary>Console log format.</summary>
    public LogFormat LogFormat { get; init; } = LogFormat.Plain;

    /// <summary>Directory of manifests to serve (the embedded source), watched for changes; none when null.</summary>
    public string? ManifestsDirectory { get; init; }

    /// <summary>Read RouteGroups, Sandboxes, LocalWorkloads, Services and EndpointSlices from the Kubernetes API.</summary>
    public bool Kubernetes { get; init; }

    /// <summary>The kubeconfig file (default: the files in <c>KUBECONFIG</c>, merged as kubectl does; else in a pod its service account; else <c>~/.kube/config</c>).</summary>
    public string? Kubeconfig { get; init; }

    /// <summary>The kubeconfig context (default: the current context).</summary>
    public string? KubeContext { get; init; }

    /// <summary>How resources are translated: routing-key carriers, cluster defaults (outlier detection among them), listener ports.</summary>
    public TranslationOptions Translation { get; init; } = new();

    /// <summary>The namespaces read from the cluster and whose Sandboxes are reconciled; empty means all.</summary>
    public IReadOnlyList<string> WatchNamespaces { get; init; } = [];

    /// <summary>A ready client configuration (tests point it at a fake API server).</summary>
    internal k8s.KubernetesClientConfiguration? KubernetesConfiguration { get; init; }

    /// <summary>Debounce and polling of the manifest directory (tests shorten them).</summary>
    internal ManifestSourceOptions? ManifestSource { get; init; }

    /// <summary>Adjusts the tunnel broker's timers (tests shorten them).</summary>
    internal Action<XdsControlPlane.Tunnel.TunnelBrokerOptions>? TunnelBroker { get; init; }

    /// <summary>More services (tests add a failing component through it).</summary>
    internal Action<IServiceCollection>? ExtraServices { get; init; }

    /// <summary>An extra log sink (tests read the log through it).</summary>
    internal Serilog.Core.ILogEventSink? ExtraLogSink { get; init; }
}

/// <summary>Console log formats.</summary>
public enum LogFormat
{
    /// <summary>Human-readable lines.</summary>
    Plain,

    /// <summary>One compact JSON object per line (Serilog CLEF).</summary>
    Json,
}
