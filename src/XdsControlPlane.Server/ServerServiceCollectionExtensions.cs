using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Formatting.Compact;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;
using XdsControlPlane.Translation;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// The server's parts, one extension each, so <see cref="ServerHost"/> only composes them: logging, snapshot
/// publishing (translation, Envoy's rules, the node grouping), the admin endpoints, the manifest directory source, the
/// Kubernetes sources with leader election, and the sharing of ACK state between replicas. Each options class is
/// validated when the host starts.
/// </summary>
public static class ServerServiceCollectionExtensions
{
    /// <summary>
    /// Serilog on the console in <paramref name="format"/>, ASP.NET Core's and gRPC's per-call chatter from Warning up, and to every
    /// registered sink (tests read the log through one). The format is read as bound, not through validated options:
    /// the logger is built with the host, before options are validated on start (which then reports every problem).
    /// </summary>
    internal static IServiceCollection AddServerLogging(this IServiceCollection services, LogFormat format) =>
        services.AddSerilog((services, logger) =>
        {
            logger.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)

                // gRPC's per-call lines ("Error reading message", "Service method canceled", "Error status code raised")
                // are Information with the client's exception and its stack trace: one client that cancels or sends
                // garbage would write them per call. The xDS and tunnel services log what matters themselves, bounded.
                .MinimumLevel.Override("Grpc.AspNetCore.Server.ServerCallHandler", Serilog.Events.LogEventLevel.Warning)
                .Enrich.FromLogContext();
            if (format == LogFormat.Json)
            {
                logger.WriteTo.Console(new CompactJsonFormatter());
            }
            else
            {
                logger.WriteTo.Console(outputTemplate: ServerHost.PlainLogTemplate);
            }

            foreach (var sink in services.GetServices<Serilog.Core.ILogEventSink>())
            {
                logger.WriteTo.Sink(sink);
            }
        });

    /// <summary>
    /// Translation (<see cref="RoutingTranslator"/>), the node grouping it publishes for
    /// (<see cref="DataPlaneGroupResolver"/>), Envoy's rules applied before publishing (<see cref="ResourceValidation"/>),
    /// the <see cref="SnapshotPublisher"/>, and the <see cref="SourcePipeline"/> every source hands its changes to, with
    /// the <see cref="RoutingInputsStore"/> of the inputs in force it writes. When the replicas share ACK state
    /// (<see cref="AddReplicaAcks"/>), each publication has this replica's state shared at once.
    /// </summary>
    public static IServiceCollection AddSnapshotPublishing(this IServiceCollection services, Action<PublishOptions>? configure = null, Action<SourcePipelineOptions>? pipeline = null)
    {
        services.AddValidatedOptions<PublishOptions>(options => configure?.Invoke(options), options => options.Validate());
        services.TryAddSingleton<INodeGroupResolver, DataPlaneGroupResolver>();
        services.TryAddSingleton(services => new RoutingTranslator(services.GetRequiredService<IOptions<PublishOptions>>().Value.Translation));
        services.TryAddSingleton<IRoutingTranslator>(services => services.GetRequiredService<RoutingTranslator>());
        services.TryAddSingleton(EnvoyRulesValidator.Default);
        services.TryAddSingleton<ResourceValidation>();
        services.TryAddSingleton<GatewayTls.GatewayCertificateStore>();
        services.TryAddSingleton<SnapshotPublisher>();
        services.TryAddSingleton<IRoutingPublisher>(services => services.GetRequiredService<SnapshotPublisher>());
        services.TryAddSingleton<RoutingInputsStore>();
        services.AddValidatedOptions<SourcePipelineOptions>(options => pipeline?.Invoke(options), options => options.Validate());
        services.TryAddSingleton(services =>
        {
            // The publisher (and the options translation reads) is resolved at the first pass, not while the hosted
            // services are built: options are validated when the host starts, and every problem is reported at once.
            var sources = new SourcePipeline(
                new DeferredPublisher(services),
                services.GetRequiredService<RoutingInputsStore>(),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILogger<SourcePipeline>>(),
                services.GetRequiredService<IOptions<SourcePipelineOptions>>().Value);
            if (services.GetService<DataPlaneAcks>() is { } acks)
            {
                // A group with no clients changes version without any stream event: share this replica's state now.
                sources.Observe(new PublicationCallback(acks.LocalChanged));
            }

            return sources;
        });
        services.AddHostedService(services => services.GetRequiredService<SourcePipeline>());
        return services;
    }

    /// <summary>What the admin endpoints need: the <c>/debug</c> access rule and the gate that bounds concurrent <c>/debug</c> requests.</summary>
    public static IServiceCollection AddAdminEndpoints(this IServiceCollection services, Action<AdminEndpointOptions>? configure = null)
    {
        services.AddValidatedOptions<AdminEndpointOptions>(options => configure?.Invoke(options), options => options.Validate());
        services.TryAddSingleton(services => new DebugRequestGate(services.GetRequiredService<IOptions<AdminEndpointOptions>>().Value.DebugRequestLimit));
        services.TryAddSingleton(services => new DebugAccess(services.GetRequiredService<IOptions<AdminEndpointOptions>>().Value.DebugToken));
        return services;
    }

    /// <summary>The embedded source: the manifest directory, read, watched and handed to the source pipeline. Needs <see cref="AddSnapshotPublishing"/>.</summary>
    internal static IServiceCollection AddManifestSource(this IServiceCollection services, Action<ManifestSourceOptions> configure)
    {
        services.AddValidatedOptions(configure, options => options.Validate());
        services.TryAddSingleton(services => new ManifestDirectoryReader(services.GetRequiredService<IOptions<ManifestSourceOptions>>().Value.Directory));
        services.TryAddSingleton<ILeadership>(new AlwaysLeader(Environment.MachineName));
        services.AddHostedService<ManifestDirectorySource>();
        return services;
    }

    /// <summary>
    /// The Kubernetes mode: the client for <paramref name="configuration"/>, one shared informer per kind
    /// (<see cref="KubernetesInformers"/>), leader election through a Lease (<see cref="ILeadership"/>), the source that
    /// hands the cluster's objects to the source pipeline, the status writer, and the Sandbox controller. Needs
    /// <see cref="AddSnapshotPublishing"/>; add <see cref="AddReplicaAcks"/> so <c>Programmed</c> waits for the data
    /// planes of every replica. Cluster changes are batched for one debounce time at most: a rollout's burst of
    /// EndpointSlice events never holds endpoints back longer.
    /// </summary>
    public static IServiceCollection AddKubernetesSources(this IServiceCollection services, k8s.KubernetesClientConfiguration configuration, Action<KubernetesSourcesOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddValidatedOptions<KubernetesSourcesOptions>(options => configure?.Invoke(options), options => options.Validate());
        services.PostConfigure<SourcePipelineOptions>(pipeline => pipeline.MaxDebounce = pipeline.Debounce);
        services.TryAddSingleton<k8s.IKubernetes>(_ => new k8s.Kubernetes(configuration));
        services.TryAddSingleton(services => new KubernetesInformers(services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILogger<KubernetesInformers>>()));
        services.TryAddSingleton(_ => new ControllerMetrics());

        // Every replica serves xDS; the Lease holder writes status and reconciles.
        services.TryAddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<KubernetesSourcesOptions>>().Value;
            return new LeaseLeadershipOptions { Namespace = options.LeaseNamespace, Name = FieldManagers.ControlPlane, Identity = options.Identity };
        });
        services.TryAddSingleton<LeaseLeadership>();
        services.TryAddSingleton<ILeadership>(services => services.GetRequiredService<LeaseLeadership>());
        services.AddHostedService(services => services.GetRequiredService<LeaseLeadership>());

        services.TryAddSingleton(services => new KubernetesSource(
            services.GetRequiredService<k8s.IKubernetes>(),
            services.GetRequiredService<SourcePipeline>().Register("kubernetes"),
            services.GetRequiredService<KubernetesInformers>(),
            new KubernetesSourceOptions { Namespaces = services.GetRequiredService<IOptions<KubernetesSourcesOptions>>().Value.Namespaces }));
        services.AddHostedService(services => services.GetRequiredService<KubernetesSource>());
        services.TryAddSingleton(services =>
        {
            var leadership = services.GetRequiredService<ILeadership>();
            return new KubernetesStatusService(
                services.GetRequiredService<k8s.IKubernetes>(),
                services.GetRequiredService<KubernetesInformers>(),
                services.GetRequiredService<SourcePipeline>(),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILogger<KubernetesStatusService>>(),
                StatusOptions(services.GetService<KubernetesStatusOptions>(), services.GetRequiredService<IOptions<KubernetesSourcesOptions>>().Value, services.GetRequiredService<IOptions<PublishOptions>>().Value.Translation),
                acked: services.GetService<DataPlaneAcks>()?.AllAcked,
                isLeader: () => leadership.IsLeader,
                metrics: services.GetRequiredService<ControllerMetrics>());
        });
        services.AddHostedService(services => services.GetRequiredService<KubernetesStatusService>());
        services.AddHostedService(services =>
        {
            var leadership = services.GetRequiredService<ILeadership>();
            return new SandboxController(
                services.GetRequiredService<k8s.IKubernetes>(),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILogger<SandboxController>>(),
                new SandboxControllerOptions
                {
                    Namespaces = services.GetRequiredService<IOptions<KubernetesSourcesOptions>>().Value.Namespaces,
                    PreviewDomain = services.GetRequiredService<IOptions<PublishOptions>>().Value.Translation.PreviewDomain,
                    PreviewSalt = services.GetRequiredService<IOptions<PublishOptions>>().Value.Translation.PreviewSalt,
                },
                isLeader: () => leadership.IsLeader,
                fieldManager: FieldManagers.ControlPlane,
                informers: services.GetRequiredService<KubernetesInformers>(),
                metrics: services.GetRequiredService<ControllerMetrics>());
        });
        return services;
    }

    /// <summary>The status writer's settings: those a test registered, else the defaults, with the configured namespaces, write rate and preview host names.</summary>
    private static KubernetesStatusOptions StatusOptions(KubernetesStatusOptions? registered, KubernetesSourcesOptions configured, TranslationOptions translation) =>
        (registered ?? new KubernetesStatusOptions()) with
        {
            Namespaces = configured.Namespaces,
            PreviewDomain = translation.PreviewDomain,
            PreviewSalt = translation.PreviewSalt,
            StatusQps = configured.StatusQps,
            StatusBurst = configured.StatusBurst,
            StatusConcurrency = configured.StatusConcurrency,
        };

    /// <summary>
    /// Shares whether this replica's data planes ACKed (<see cref="ReplicaAcks"/>, one Lease per replica), so
    /// <c>Programmed</c> counts the clients of every replica, not only the leader's. The xDS streams' events (ACK, NACK,
    /// in sync, closed; <see cref="AckStateSignal"/>) wake both this replica's Lease write and the Kubernetes source's
    /// status check, and a changed Lease of another replica wakes the check too; nothing polls every second. All of the
    /// ACK wiring is here.
    /// </summary>
    public static IServiceCollection AddReplicaAcks(this IServiceCollection services)
    {
        services.TryAddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<KubernetesSourcesOptions>>().Value;
            return new ReplicaAcks(
                services.GetRequiredService<k8s.IKubernetes>(),
                new ReplicaAcksOptions { Namespace = options.LeaseNamespace, Identity = services.GetRequiredService<ILeadership>().Identity },
                LocalAckStates(services.GetRequiredService<SnapshotCache>(), services.GetRequiredService<ClientRegistry>()),
                services.GetRequiredService<TimeProvider>(),
                services.GetRequiredService<ILogger<ReplicaAcks>>(),
                changed: () => services.GetRequiredService<KubernetesStatusService>().AcksChanged());
        });
        services.AddHostedService(services => services.GetRequiredService<ReplicaAcks>());
        services.TryAddSingleton(services => new DataPlaneAcks(services.GetRequiredService<ReplicaAcks>().AllAcked, services.GetRequiredService<ReplicaAcks>().LocalChanged));
        services.AddSingleton<IXdsStreamCallbacks>(services => new AckStateSignal(services.GetRequiredService<ReplicaAcks>().LocalChanged, services.GetRequiredService<KubernetesStatusService>().AcksChanged));
        return services;
    }

    /// <summary>
    /// The tunnel broker for <c>sandboxctl local connect</c>: its gRPC service, the per-workload listeners
    /// (<see cref="WorkloadTunnels"/>), and where LocalWorkloads live — in the cluster with <c>--kubernetes</c>
    /// (<see cref="LocalWorkloads.KubernetesLocalWorkloads"/>), else in memory (<see cref="LocalWorkloads.InMemoryLocalWorkloads"/>, a source of
    /// its own in the source pipeline). Needs <see cref="AddSnapshotPublishing"/>.
    /// </summary>
    internal static IServiceCollection AddTunnelBroker(this IServiceCollection services, IConfiguration section, bool kubernetes)
    {
        services.AddSectionOptions<TunnelBrokerOptions>(section, broker => broker.Validate());
        services.AddOptions<TunnelBrokerOptions>().Configure<IOptions<HostingOptions>, IOptions<TunnelListenerOptions>>((broker, hosting, listener) =>
        {
            broker.Replica = hosting.Value.Replica;

            // A raw lane is plaintext: behind TLS only gRPC lanes (the listener takes no raw lanes then either).
            broker.RawLanes &= !listener.Value.Tls.Enabled;
            broker.BindAddress = hosting.Value.Loopback ? System.Net.IPAddress.Loopback : System.Net.IPAddress.Any;
            if (string.IsNullOrEmpty(section[nameof(TunnelBrokerOptions.AdvertiseAddress)]))
            {
                // Outside a pod (no POD_IP) and without --tunnel-address: where this host is reached.
                broker.AdvertiseAddress = hosting.Value.Loopback ? "127.0.0.1" : HostAddress();
            }
        });
        services.TryAddSingleton(services => services.GetRequiredService<IOptions<TunnelBrokerOptions>>().Value);
        services.TryAddSingleton(services => new LocalWorkloads.OutboundTargets(services.GetRequiredService<RoutingInputsStore>(), Random.Shared));
        if (kubernetes)
        {
            services.TryAddSingleton<ILocalWorkloadRegistry>(services => new LocalWorkloads.KubernetesLocalWorkloads(
                services.GetRequiredService<k8s.IKubernetes>(), services.GetRequiredService<RoutingInputsStore>(), services.GetRequiredService<LocalWorkloads.OutboundTargets>(), services.GetRequiredService<IOptions<HostingOptions>>().Value.Replica,
                TranslationOptionsOf(services), services.GetRequiredService<ILogger<LocalWorkloads.KubernetesLocalWorkloads>>()));
        }
        else
        {
            services.TryAddSingleton(services => new LocalWorkloads.InMemoryLocalWorkloads(
                services.GetRequiredService<RoutingInputsStore>(), services.GetRequiredService<SourcePipeline>(), services.GetRequiredService<LocalWorkloads.OutboundTargets>(), services.GetRequiredService<IOptions<TunnelListenerOptions>>().Value.Token,
                TranslationOptionsOf(services)));
            services.TryAddSingleton<ILocalWorkloadRegistry>(services => services.GetRequiredService<LocalWorkloads.InMemoryLocalWorkloads>());
        }

        services.TryAddSingleton(_ => new BrokerMetrics());
        services.TryAddSingleton<WorkloadTunnels>();
        services.TryAddSingleton<TunnelBrokerService>();
        services.AddHostedService<LocalWorkloads.TunnelShutdownNotice>();
        return services;
    }

    /// <summary>
    /// The translation options, read when first asked for (a Hello's previews), not when the registry is made: the host
    /// makes the registry before it validates options, and an invalid option must fail the start with every problem
    /// (ValidateOnStart), not alone from here.
    /// </summary>
    private static Func<Translation.TranslationOptions> TranslationOptionsOf(IServiceProvider services) =>
        () => services.GetRequiredService<IOptions<PublishOptions>>().Value.Translation;

    /// <summary>This host's first IPv4 address that is not loopback (where a process outside a pod is reached), else 127.0.0.1.</summary>
    private static string HostAddress() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !System.Net.IPAddress.IsLoopback(a))?.ToString() ?? "127.0.0.1";

    /// <summary>Per node group of this replica: its current snapshot version and whether every connected client ACKed it.</summary>
    private static Func<IReadOnlyDictionary<string, GroupAckState>> LocalAckStates(SnapshotCache cache, ClientRegistry clients) => () =>
        cache.Groups
            .Select(group => (group, published: cache.GetSnapshot(group)))
            .Where(g => g.published is not null)
            .ToDictionary(g => g.group, g => new GroupAckState(g.published!.Snapshot.Version, clients.AllAcked(g.group, g.published.Snapshot.Version, out _)), StringComparer.Ordinal);

    /// <summary>The registered <see cref="IRoutingPublisher"/>, resolved when first used.</summary>
    private sealed class DeferredPublisher(IServiceProvider services) : IEndpointPublisher
    {
        private readonly Lazy<IRoutingPublisher> _publisher = new(services.GetRequiredService<IRoutingPublisher>, LazyThreadSafetyMode.PublicationOnly);

        public IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs) => _publisher.Value.Publish(inputs);

        public IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs, long included) =>
            _publisher.Value is IEndpointPublisher endpoints ? endpoints.Publish(inputs, included) : _publisher.Value.Publish(inputs);

        public void PublishEndpoints(IReadOnlyList<EndpointChange> changes)
        {
            if (_publisher.Value is IEndpointPublisher endpoints)
            {
                endpoints.PublishEndpoints(changes);
            }
        }
    }

    /// <summary>Calls <paramref name="Published"/> after each pass of the source pipeline that published.</summary>
    private sealed record PublicationCallback(Action Published) : IPublicationObserver
    {
        public void Applied(Publication publication)
        {
            if (publication.Published)
            {
                Published();
            }
        }
    }

    /// <summary>What the Kubernetes status writer and the source pipeline need of <see cref="ReplicaAcks"/>.</summary>
    /// <param name="AllAcked">Whether every data plane of every replica ACKed the current snapshots.</param>
    /// <param name="LocalChanged">Has this replica's ACK state shared now (after a publication).</param>
    private sealed record DataPlaneAcks(Func<bool> AllAcked, Action LocalChanged);
}
