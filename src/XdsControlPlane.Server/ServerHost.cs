using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Serilog;
using Serilog.Formatting.Compact;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Model;
using XdsControlPlane.Translation;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// The server process: Kestrel with an HTTP/2 listener for xDS (ADS, per-type services, CSDS) and an HTTP/1.1
/// listener for admin endpoints, Serilog console logging, graceful shutdown. Built by <see cref="Create"/>, then started and stopped by the caller.
/// </summary>
public sealed class ServerHost : IAsyncDisposable
{
    /// <summary>The line format of <c>--log-format plain</c>.</summary>
    internal const string PlainLogTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    private readonly WebApplication _app;
    private readonly ListenOptions[] _listeners;

    private ServerHost(WebApplication app, ListenOptions[] listeners)
    {
        _app = app;
        _listeners = listeners;
    }

    /// <summary>The bound xDS port (differs from the option when it was 0). Valid after <see cref="StartAsync"/>.</summary>
    public int XdsPort => _listeners[0].IPEndPoint!.Port;

    /// <summary>The bound admin port. Valid after <see cref="StartAsync"/>.</summary>
    public int AdminPort => _listeners[1].IPEndPoint!.Port;

    /// <summary>The snapshot cache the xDS server serves from; sources publish here.</summary>
    public SnapshotCache Snapshots => _app.Services.GetRequiredService<SnapshotCache>();

    /// <summary>The connected xDS clients and their sync state.</summary>
    public ClientRegistry Clients => _app.Services.GetRequiredService<ClientRegistry>();

    /// <summary>The host's services (tests reach the /debug gate through them).</summary>
    internal IServiceProvider Services => _app.Services;

    /// <summary>Builds the host for <paramref name="options"/>.</summary>
    public static ServerHost Create(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)
                .Enrich.FromLogContext();
            if (options.LogFormat == LogFormat.Json)
            {
                logger.WriteTo.Console(new CompactJsonFormatter());
            }
            else
            {
                logger.WriteTo.Console(outputTemplate: PlainLogTemplate);
            }

            if (options.ExtraLogSink is { } sink)
            {
                logger.WriteTo.Sink(sink);
            }
        });

        var listeners = new ListenOptions[2];
        var address = options.Loopback ? IPAddress.Loopback : IPAddress.Any;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Clients' keepalive pings are answered; the server pings idle connections to detect dead peers.
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
            kestrel.Listen(address, options.XdsPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                ListenerRole.Tag(listen, ListenerRole.Xds);
                listeners[0] = listen;
            });
            kestrel.Listen(address, options.AdminPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                ListenerRole.Tag(listen, ListenerRole.Admin);
                listeners[1] = listen;
            });
        });

        builder.Services.AddSingleton<INodeGroupResolver, DataPlaneGroupResolver>();
        builder.Services.AddXdsServer(xds =>
        {
            xds.MaxStreamAge = options.MaxStreamAge;
            xds.MaxRequestBytes = options.MaxRequestBytes;
        });
        builder.Services.AddSingleton(new RoutingTranslator(options.Translation));
        builder.Services.AddSingleton<SnapshotPublisher>();
        builder.Services.AddSingleton(new DebugRequestGate(DebugRequestGate.DefaultLimit));
        builder.Services.AddSingleton(new DebugAccess(options.DebugToken));
        if (options.ManifestsDirectory is { } directory)
        {
            builder.Services.AddSingleton(new ManifestDirectoryReader(directory));
            builder.Services.AddSingleton(options.ManifestSource ?? new ManifestSourceOptions());
            builder.Services.AddHostedService<ManifestDirectorySource>();
        }

        if (options.Kubernetes)
        {
            var configuration = options.KubernetesConfiguration ?? KubernetesConfiguration(options);
            builder.Services.AddSingleton<k8s.IKubernetes>(_ => new k8s.Kubernetes(configuration));

            // Every replica serves xDS; the Lease holder writes status. In a pod, POD_NAME and POD_NAMESPACE (downward API) name it.
            builder.Services.AddSingleton(new LeaseLeadershipOptions
            {
                Namespace = Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? new LeaseLeadershipOptions().Namespace,
                Identity = Environment.GetEnvironmentVariable("POD_NAME") ?? $"{Environment.MachineName}-{Environment.ProcessId}",
            });
            builder.Services.AddSingleton<LeaseLeadership>();
            builder.Services.AddHostedService(services => services.GetRequiredService<LeaseLeadership>());

            // Every replica shares whether its data planes ACKed, so Programmed counts all of them, not only the leader's.
            builder.Services.AddSingleton(services => new ReplicaAcks(
                services.GetRequiredService<k8s.IKubernetes>(),
                new ReplicaAcksOptions
                {
                    Namespace = services.GetRequiredService<LeaseLeadershipOptions>().Namespace,
                    Identity = services.GetRequiredService<LeaseLeadershipOptions>().Identity,
                },
                LocalAckStates(services.GetRequiredService<SnapshotCache>(), services.GetRequiredService<ClientRegistry>()),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILogger<ReplicaAcks>>()));
            builder.Services.AddHostedService(services => services.GetRequiredService<ReplicaAcks>());
            builder.Services.AddHostedService(services => new KubernetesSource(
                services.GetRequiredService<k8s.IKubernetes>(),
                services.GetRequiredService<SnapshotPublisher>().Publish,
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILogger<KubernetesSource>>(),
                new KubernetesSourceOptions { Namespaces = options.WatchNamespaces },
                acked: services.GetRequiredService<ReplicaAcks>().AllAcked,
                isLeader: () => services.GetRequiredService<LeaseLeadership>().IsLeader,
                fieldManager: "xds-control-plane"));
            builder.Services.AddHostedService(services => new SandboxController(
                services.GetRequiredService<k8s.IKubernetes>(),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILogger<SandboxController>>(),
                new SandboxControllerOptions { Namespaces = options.WatchNamespaces },
                isLeader: () => services.GetRequiredService<LeaseLeadership>().IsLeader,
                fieldManager: "xds-control-plane"));
        }

        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(10));
        options.ExtraServices?.Invoke(builder.Services);

        var app = builder.Build();
        AdminEndpoints.Map(app);
        app.MapXdsServices();
        return new ServerHost(app, listeners);
    }

    /// <summary>Per node group of this replica: its current snapshot version and whether every connected client ACKed it.</summary>
    private static Func<IReadOnlyDictionary<string, GroupAckState>> LocalAckStates(SnapshotCache cache, ClientRegistry clients) => () =>
        cache.Groups
            .Select(group => (group, published: cache.GetSnapshot(group)))
            .Where(g => g.published is not null)
            .ToDictionary(g => g.group, g => new GroupAckState(g.published!.Snapshot.Version, clients.AllAcked(g.group, g.published.Snapshot.Version, out _)), StringComparer.Ordinal);

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
        ServerLog.Listening(_app.Logger, XdsPort, AdminPort);
        await _app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
