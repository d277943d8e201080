using System.Net;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// The server process: Kestrel with an HTTP/2 listener for xDS (ADS, per-type services, CSDS), an HTTP/1.1
/// listener for admin endpoints, an HTTP/2 listener for the tunnel broker (local connect), Serilog console logging, graceful shutdown. Built by <see cref="Create"/>, then started and stopped by the caller.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    /// <summary>The line format of <c>--log-format plain</c>.</summary>
    internal const string PlainLogTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    private readonly WebApplication _app;
    private readonly ServerListeners _listeners;

    private ServerHost(WebApplication app, ServerListeners listeners)
    {
        _app = app;
        _listeners = listeners;
    }

    /// <summary>The bound xDS port (differs from the option when it was 0). Valid after <see cref="StartAsync"/>.</summary>
    public int XdsPort => _listeners.Xds!.IPEndPoint!.Port;

    /// <summary>The bound admin port. Valid after <see cref="StartAsync"/>.</summary>
    public int AdminPort => _listeners.Admin!.IPEndPoint!.Port;

    /// <summary>The bound tunnel broker port. Valid after <see cref="StartAsync"/>.</summary>
    public int TunnelPort => _listeners.Tunnel!.IPEndPoint!.Port;

    /// <summary>The snapshot cache the xDS server serves from; sources publish here.</summary>
    public SnapshotCache Snapshots => _app.Services.GetRequiredService<SnapshotCache>();

    /// <summary>The connected xDS clients and their sync state.</summary>
    public ClientRegistry Clients => _app.Services.GetRequiredService<ClientRegistry>();

    /// <summary>The host's services (tests reach the /debug gate through them).</summary>
    internal IServiceProvider Services => _app.Services;

    /// <summary>
    /// Builds the host for <paramref name="options"/>: Kestrel with the xDS and admin listeners, then the parts
    /// (<see cref="ServerServiceCollectionExtensions"/>) the options ask for. Options are validated when it starts.
    /// </summary>
    /// <exception cref="k8s.Exceptions.KubeConfigException">Kubernetes mode without a usable configuration.</exception>
    public static ServerHost Create(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder();
        var listeners = new ServerListeners();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Clients' keepalive pings are answered; the server pings idle connections to detect dead peers.
            kestrel.Limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
            listeners.Listen(kestrel, options.Loopback ? IPAddress.Loopback : IPAddress.Any, options.XdsPort, options.AdminPort, options.TunnelPort);
        });

        var services = builder.Services;
        services.AddServerLogging(options.LogFormat, options.ExtraLogSink);
        services.AddXdsServer(xds =>
        {
            xds.MaxStreamAge = options.MaxStreamAge;
            xds.MaxRequestBytes = options.MaxRequestBytes;
        });
        services.AddSnapshotPublishing(publish => publish.Translation = options.Translation);
        services.AddAdminEndpoints(admin => admin.DebugToken = options.DebugToken);
        if (options.ManifestsDirectory is { } directory)
        {
            var timing = options.ManifestSource ?? new ManifestSourceOptions();
            services.AddManifestSource(source =>
            {
                source.Directory = directory;
                source.PollInterval = timing.PollInterval;
            });
        }

        // In a pod, POD_NAME and POD_NAMESPACE (downward API) name the replica and the Leases' namespace.
        var replica = Environment.GetEnvironmentVariable("POD_NAME") ?? $"{Environment.MachineName}-{Environment.ProcessId}";
        if (options.Kubernetes)
        {
            services.AddKubernetesSources(options.KubernetesConfiguration ?? KubernetesConfiguration(options), kubernetes =>
            {
                kubernetes.Namespaces = options.WatchNamespaces;
                kubernetes.LeaseNamespace = Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? kubernetes.LeaseNamespace;
                kubernetes.Identity = replica;
            });
            services.AddReplicaAcks();
        }

        services.AddTunnelBroker(options, replica);

        services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(10));
        options.ExtraServices?.Invoke(services);

        var app = builder.Build();
        app.UseListenerRoles();
        app.MapAdminEndpoints().OnlyOn(ListenerRole.Admin);
        app.MapXdsServices().OnlyOn(ListenerRole.Xds);
        app.MapGrpcService<TunnelBrokerService>().OnlyOn(ListenerRole.Tunnel);
        return new ServerHost(app, listeners);
    }

    /// <summary>
    /// The problems of every options class that failed validation when the host started (one class fails with an
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>, several with an <see cref="AggregateException"/> of them); empty for other failures.
    /// </summary>
    public static IReadOnlyList<string> OptionsProblems(Exception failure) => failure switch
    {
        Microsoft.Extensions.Options.OptionsValidationException invalid => [.. invalid.Failures],
        AggregateException several => [.. several.InnerExceptions.OfType<Microsoft.Extensions.Options.OptionsValidationException>().SelectMany(e => e.Failures)],
        _ => [],
    };

    /// <summary>
    /// <c>--kubeconfig</c>, else the files in <c>KUBECONFIG</c> (merged as kubectl merges them), else in a pod the
    /// service account, else <c>~/.kube/config</c>; <c>--context</c> or the current context.
    /// </summary>
    /// <exception cref="k8s.Exceptions.KubeConfigException">No usable configuration.</exception>
    private static k8s.KubernetesClientConfiguration KubernetesConfiguration(ServerOptions options) =>
        KubeconfigLoader.Load(options.Kubeconfig, options.KubeContext, allowInCluster: true);

    /// <summary>
    /// Whether a background component (a source, a controller) stopped with an exception and so stopped the host:
    /// the process must then exit non-zero, so a supervisor restarts it.
    /// </summary>
    public bool Faulted => _app.Services.GetServices<IHostedService>().OfType<BackgroundService>().Any(s => s.ExecuteTask is { IsFaulted: true });

    /// <summary>Binds the listeners and starts serving.</summary>
    public Task StartAsync(CancellationToken cancellationToken) => _app.StartAsync(cancellationToken);

    /// <summary>Stops accepting connections and drains in-flight requests.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _app.StopAsync(cancellationToken);

    /// <summary>Runs until <paramref name="cancellationToken"/> fires or the process is asked to stop (SIGTERM, Ctrl+C).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        ServerLog.Listening(_app.Logger, XdsPort, AdminPort, TunnelPort);
        await _app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
