using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;

namespace XdsControlPlane.Testing;

/// <summary>Timing and scope of a <see cref="KubernetesRoutingHarness"/> (tests shorten them).</summary>
internal sealed record KubernetesRoutingOptions
{
    /// <summary>The source pipeline's debounce (cluster changes are batched for this long at most, as in the server).</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The status writer's safety resync.</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The namespaces read; empty means all.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];
}

/// <summary>
/// The Kubernetes mode's routing loop as the server composes it — <see cref="KubernetesSource"/> into a
/// <see cref="SourcePipeline"/> that publishes with a test's function, and the <see cref="KubernetesStatusService"/> —
/// started and stopped as one, for tests that need no xDS server.
/// </summary>
internal sealed class KubernetesRoutingHarness : IDisposable
{
    private readonly SourcePipeline _pipeline;
    private readonly KubernetesSource _source;
    private readonly KubernetesStatusService _status;

    public KubernetesRoutingHarness(IKubernetes client, Func<RoutingInputs, IReadOnlyList<ManifestProblem>> publish, TimeProvider clock, ILogger logger, KubernetesRoutingOptions? options = null, Func<bool>? acked = null, Func<bool>? isLeader = null, string? fieldManager = null, KubernetesInformers? informers = null)
    {
        options ??= new KubernetesRoutingOptions();
        var shared = informers ?? new KubernetesInformers(clock, logger);
        _pipeline = new SourcePipeline(new FunctionPublisher(publish), new RoutingInputsStore(), clock, NullLogger<SourcePipeline>.Instance, new SourcePipelineOptions { Debounce = options.Debounce, MaxDebounce = options.Debounce });
        _source = new KubernetesSource(client, _pipeline.Register("kubernetes"), shared, new KubernetesSourceOptions { Namespaces = options.Namespaces });
        _status = new KubernetesStatusService(client, shared, _pipeline, clock, NullLogger<KubernetesStatusService>.Instance,
            new KubernetesStatusOptions { StatusInterval = options.StatusInterval, Namespaces = options.Namespaces, FieldManager = fieldManager ?? FieldManagers.ControlPlane }, acked, isLeader);
    }

    /// <summary>True once every kind has been listed and the first snapshot published.</summary>
    public bool HasSynced => _source.HasSynced && _pipeline.HasPublished;

    /// <inheritdoc cref="KubernetesStatusService.HasPendingStatus"/>
    public bool HasPendingStatus => _status.HasPendingStatus;

    /// <inheritdoc cref="KubernetesSource.ResourceVersions"/>
    public IReadOnlyDictionary<string, string?> ResourceVersions => _source.ResourceVersions;

    /// <inheritdoc cref="KubernetesSource.Lists"/>
    public IReadOnlyDictionary<string, int> Lists => _source.Lists;

    /// <inheritdoc cref="KubernetesStatusService.StatusJudged"/>
    public long StatusJudged => _status.StatusJudged;

    /// <inheritdoc cref="KubernetesStatusService.Progress"/>
    public (long Noted, long Judged) StatusProgress => _status.Progress;

    /// <inheritdoc cref="KubernetesStatusService.AcksChanged"/>
    public void AcksChanged() => _status.AcksChanged();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _pipeline.StartAsync(cancellationToken);
        await _status.StartAsync(cancellationToken);
        await _source.StartAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _source.StopAsync(cancellationToken);
        await _status.StopAsync(cancellationToken);
        await _pipeline.StopAsync(cancellationToken);
    }

    public void Dispose()
    {
        _source.Dispose();
        _status.Dispose();
        _pipeline.Dispose();
    }

    private sealed class FunctionPublisher(Func<RoutingInputs, IReadOnlyList<ManifestProblem>> publish) : IRoutingPublisher
    {
        public IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs) => publish(inputs);
    }
}
