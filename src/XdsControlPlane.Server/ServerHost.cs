using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Server.GatewayTls;
using XdsControlPlane.Server.ListenerTls;
using XdsControlPlane.Server.Previews;
using XdsControlPlane.Server.Webhook;
using XdsControlPlane.Sources;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// The server process: Kestrel with an HTTP/2 listener for xDS (ADS, per-type services, CSDS), an HTTP/1.1
/// listener for admin endpoints, an HTTP/2 listener for the tunnel broker (local connect), an HTTPS listener for the
/// mutating admission webhook, Serilog console logging, graceful shutdown. Built by <see cref="Create"/>, then started and stopped by the caller.
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

    /// <summary>The bound admission webhook port, or 0 when the webhook is off. Valid after <see cref="StartAsync"/>.</summary>
    public int WebhookPort => _listeners.Webhook?.IPEndPoint?.Port ?? 0;

    /// <summary>The snapshot cache the xDS server serves from; sources publish here.</summary>
    public SnapshotCache Snapshots => _app.Services.GetRequiredService<SnapshotCache>();

    /// <summary>The connected xDS clients and their sync state.</summary>
    public ClientRegistry Clients => _app.Services.GetRequiredService<ClientRegistry>();

    /// <summary>The host's services (tests reach the /debug gate through them).</summary>
    internal IServiceProvider Services => _app.Services;

    /// <summary>
    /// Builds the host for <paramref name="configuration"/> (<see cref="ServerConfiguration"/>): each area's options class
    /// is bound from its section and validated when the host starts; Kestrel gets the xDS, admin, tunnel and webhook listeners,
    /// then the parts (<see cref="ServerServiceCollectionExtensions"/>) the settings ask for. <paramref name="configureServices"/>
    /// runs first, so what it registers (a log sink, a translation, a <see cref="k8s.KubernetesClientConfiguration"/>
    /// instead of the kubeconfig) is kept by the parts.
    /// </summary>
    /// <exception cref="k8s.Exceptions.KubeConfigException">Kubernetes mode without a usable configuration.</exception>
    public static ServerHost Create(IConfiguration configuration, Action<IServiceCollection>? configureServices = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = WebApplication.CreateSlimBuilder();
        var services = builder.Services;
        configureServices?.Invoke(services);

        services.AddSectionOptions<HostingOptions>(configuration.GetSection(HostingOptions.Section), hosting => hosting.Validate());
        var kubernetesMode = configuration.GetSection(KubernetesSourcesOptions.Section).GetValue<bool>(nameof(KubernetesSourcesOptions.Enabled));
        services.AddSectionOptions<XdsListenerOptions>(configuration.GetSection(XdsListenerOptions.Section), xds => xds.PortProblems().Concat(xds.Tls.Validate(XdsListenerOptions.Section, "--xds", kubernetesMode)));
        services.AddSectionOptions<TunnelListenerOptions>(configuration.GetSection(TunnelListenerOptions.Section), tunnel => tunnel.PortProblems().Concat(tunnel.Tls.Validate(TunnelListenerOptions.Section, "--tunnel", kubernetesMode)));
        services.AddListenerTls(Bound<XdsListenerOptions>(configuration, XdsListenerOptions.Section), Bound<TunnelListenerOptions>(configuration, TunnelListenerOptions.Section), configuration.GetSection(XdsListenerOptions.Section), kubernetesMode);
        services.AddSectionOptions<ConnectionLimitOptions>(configuration.GetSection(ConnectionLimitOptions.Section), limits => limits.Validate());
        var listeners = new ServerListeners();
        var certificates = new WebhookCertificateStore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Read here, not through IOptions: Kestrel is configured when the host is built, before options are
            // validated on start (which then reports a bad port or interval with every other problem).
            var hosting = Bound<HostingOptions>(configuration, HostingOptions.Section);

            if (hosting.Validate().Any())
            {
                return;
            }

            // Clients' keepalive pings are answered; the server pings idle connections to detect dead peers.
            kestrel.Limits.Http2.KeepAlivePingDelay = hosting.KeepAlivePingDelay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = hosting.KeepAlivePingTimeout;
            var gates = ConnectionGates(kestrel.ApplicationServices, Bound<ConnectionLimitOptions>(configuration, ConnectionLimitOptions.Section));
            listeners.Listen(
                kestrel,
                hosting.Loopback ? IPAddress.Loopback : IPAddress.Any,
                Bound<XdsListenerOptions>(configuration, XdsListenerOptions.Section),
                Bound<AdminEndpointOptions>(configuration, AdminEndpointOptions.Section),
                Bound<TunnelListenerOptions>(configuration, TunnelListenerOptions.Section),
                Bound<WebhookListenerOptions>(configuration, WebhookListenerOptions.Section),
                certificates,
                gates,
                kind => ListenerTlsServiceCollectionExtensions.CredentialsOf(kestrel.ApplicationServices, kind));
        });

        services.AddServerLogging(Bound<HostingOptions>(configuration, HostingOptions.Section).LogFormat);
        services.AddXdsServer(xds => configuration.GetSection(XdsListenerOptions.Section).Bind(xds));
        services.AddSnapshotPublishing(
            publish => configuration.GetSection(PublishOptions.TranslationSection).Bind(publish.Translation),
            pipeline => configuration.GetSection(SourcePipelineOptions.Section).Bind(pipeline));
        services.AddAdminEndpoints(admin => configuration.GetSection(AdminEndpointOptions.Section).Bind(admin));
        var manifests = configuration.GetSection(ServerConfiguration.ManifestsSection);
        var manifestsMode = !string.IsNullOrEmpty(manifests[nameof(ManifestSourceOptions.Directory)]);
        if (manifestsMode && configuration.GetSection(KubernetesSourcesOptions.Section).GetValue<bool>(nameof(KubernetesSourcesOptions.Enabled)))
        {
            // The command line refuses both flags; the file and the environment must not get around it (two sources, and
            // the manifests mode's always-leader in place of the Lease).
            throw new OptionsValidationException(ServerConfiguration.ManifestsSection, typeof(ManifestSourceOptions), ["Manifests:Directory and Kubernetes:Enabled (--manifests and --kubernetes) are alternative sources; give one."]);
        }

        if (manifestsMode)
        {
            services.AddManifestSource(source => manifests.Bind(source));
        }

        var kubernetes = configuration.GetSection(KubernetesSourcesOptions.Section);
        if (kubernetesMode)
        {
            var client = services.FirstOrDefault(s => s.ServiceType == typeof(k8s.KubernetesClientConfiguration))?.ImplementationInstance as k8s.KubernetesClientConfiguration
                ?? KubernetesConfiguration(kubernetes[nameof(KubernetesSourcesOptions.Kubeconfig)], kubernetes[nameof(KubernetesSourcesOptions.Context)]);
            services.AddKubernetesSources(client, options => kubernetes.Bind(options));
            services.AddOptions<KubernetesSourcesOptions>().Configure<IOptions<HostingOptions>>((options, hosting) => options.Identity = hosting.Value.Replica);
            services.AddReplicaAcks();
        }

        services.AddTunnelBroker(configuration.GetSection(TunnelListenerOptions.Section), kubernetesMode);
        services.AddSidecarInjection(
            configuration.GetSection(XdsControlPlane.Kubernetes.Admission.Injection.SidecarInjectionOptions.Section),
            configuration.GetSection($"{XdsListenerOptions.Section}:{nameof(NodeIdentityOptions.TokenReview)}"));
        services.AddAdmissionWebhook(configuration.GetSection(WebhookListenerOptions.Section), certificates, kubernetesMode);
        services.AddGatewayTls(configuration.GetSection(GatewayTlsOptions.Section), kubernetesMode);
        var previewsOn = !string.IsNullOrEmpty(configuration.GetSection(PublishOptions.TranslationSection)[nameof(XdsControlPlane.Translation.TranslationOptions.PreviewDomain)]);
        services.AddPreviewAccess(configuration.GetSection(PreviewAccessOptions.Section), kubernetesMode, manifestsMode, previewsOn);
        services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(10));

        AddConnectionBudget(services, Bound<ConnectionLimitOptions>(configuration, ConnectionLimitOptions.Section));
        AddBulkListeners(services);
        var app = builder.Build();
        app.UseListenerKinds();
        app.UseFirstRequestMarks();
        app.MapAdminEndpoints().OnlyOn(ListenerKind.Admin);
        app.MapXdsServices().OnlyOn(ListenerKind.Xds);
        app.MapGrpcService<PreviewAuthorizationService>().OnlyOn(ListenerKind.Xds);
        app.MapGrpcService<TunnelBrokerService>().OnlyOn(ListenerKind.Tunnel);
        app.MapAdmissionWebhook().OnlyOn(ListenerKind.Webhook);
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

    /// <summary>The options class <typeparamref name="T"/> bound from <paramref name="section"/> of <paramref name="configuration"/>.</summary>
    private static T Bound<T>(IConfiguration configuration, string section)
        where T : new()
    {
        var options = new T();
        configuration.GetSection(section).Bind(options);
        return options;
    }

    /// <summary>
    /// <paramref name="kubeconfig"/> (<c>--kubeconfig</c>), else the files in <c>KUBECONFIG</c> (merged as kubectl merges
    /// them), else in a pod the service account, else <c>~/.kube/config</c>; <paramref name="context"/> or the current context.
    /// </summary>
    /// <exception cref="k8s.Exceptions.KubeConfigException">No usable configuration.</exception>
    private static k8s.KubernetesClientConfiguration KubernetesConfiguration(string? kubeconfig, string? context) =>
        KubeconfigLoader.Load(kubeconfig, context, allowInCluster: true);

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
        if (WebhookPort is not 0 and var webhookPort)
        {
            var reviewed = _app.Services.GetRequiredService<AdmissionDispatcher>().Resources;
            WebhookLog.Listening(_app.Logger, webhookPort, reviewed);
        }
        await _app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the host first when it was started and not stopped (as a supervisor's SIGTERM would: background services
    /// end before the services they use are disposed), then disposes it.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var lifetime = _app.Lifetime;
        if (lifetime.ApplicationStarted.IsCancellationRequested && !lifetime.ApplicationStopped.IsCancellationRequested)
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>One <see cref="ConnectionGate"/> per listener kind; none when <paramref name="limits"/> is invalid (validation on start reports it).</summary>
    private static Func<string, ConnectionGate>? ConnectionGates(IServiceProvider services, ConnectionLimitOptions limits)
    {
        if (limits.Validate().Any())
        {
            return null;
        }

        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger<ConnectionGate>();
        if (FileDescriptorLimit.Soft() is not { } files || limits.ConnectionBudget(files) == int.MaxValue)
        {
            ServerLog.NoConnectionBudget(logger);
        }

        var metrics = new ConnectionMetrics();
        var clock = services.GetService<TimeProvider>() ?? TimeProvider.System;
        return kind => new ConnectionGate(kind, limits, metrics, logger, clock);
    }

    /// <summary>
    /// Puts Kestrel's transport behind the connection budget the open-file limit leaves (<see cref="BudgetedListenerFactory"/>);
    /// nothing when the limit cannot be read or <paramref name="limits"/> is invalid.
    /// </summary>
    private static void AddConnectionBudget(IServiceCollection services, ConnectionLimitOptions limits)
    {
        var transport = services.LastOrDefault(d => d.ServiceType == typeof(IConnectionListenerFactory));
        var fileLimit = FileDescriptorLimit.Soft();
        if (limits.Validate().Any() || transport is null || fileLimit is not { } files || limits.ConnectionBudget(files) == int.MaxValue)
        {
            return;
        }

        Decorate<IConnectionListenerFactory>(services, transport, (provider, inner) =>
        {
            var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger<ConnectionGate>();
            var budget = new ConnectionBudget(limits.ConnectionBudget(files), provider.GetService<TimeProvider>() ?? TimeProvider.System, waits => ServerLog.ConnectionBudgetReached(logger, limits.ConnectionBudget(files), waits));
            ServerLog.ConnectionBudget(logger, budget.Limit, files);
            return new BudgetedListenerFactory(inner, budget);
        });
    }

    /// <summary>
    /// Gives listeners bound on a <see cref="BulkEndPoint"/> (the tunnel's) large read blocks: Kestrel's transport and its
    /// memory pool factory are wrapped (<see cref="BulkListenerFactory"/>, <see cref="BulkMemoryPoolFactory"/>); nothing
    /// when either is not registered.
    /// </summary>
    private static void AddBulkListeners(IServiceCollection services)
    {
        var transport = services.LastOrDefault(d => d.ServiceType == typeof(IConnectionListenerFactory));
        var pools = services.LastOrDefault(d => d.ServiceType == typeof(IMemoryPoolFactory<byte>));
        if (transport is null || pools is null)
        {
            return;
        }

        Decorate<IConnectionListenerFactory>(services, transport, (_, inner) => new BulkListenerFactory(inner));
        Decorate<IMemoryPoolFactory<byte>>(services, pools, (_, inner) => new BulkMemoryPoolFactory(inner));
    }

    /// <summary>Replaces the registration <paramref name="registered"/> of <typeparamref name="T"/> with a singleton that wraps what it made.</summary>
    private static void Decorate<T>(IServiceCollection services, ServiceDescriptor registered, Func<IServiceProvider, T, T> wrap)
        where T : class
    {
        services.Remove(registered);
        services.AddSingleton(provider =>
        {
            var inner = registered.ImplementationInstance as T
                ?? (T?)registered.ImplementationFactory?.Invoke(provider)
                ?? (T)ActivatorUtilities.CreateInstance(provider, registered.ImplementationType!);
            return wrap(provider, inner);
        });
    }
}
