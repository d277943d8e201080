using System.Threading.Channels;
using k8s;
using Microsoft.Extensions.Hosting;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>Timing of the Kubernetes source.</summary>
public sealed record KubernetesSourceOptions
{
    /// <summary>Quiet time after a change before publishing (bursts of watch events become one snapshot).</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The safety resync of <c>Programmed</c>: how often it is re-checked while data planes have not ACKed yet, in case
    /// a wake-up was missed. <see cref="KubernetesSource.AcksChanged"/> (an ACK, a NACK, a closed stream, another
    /// replica's news) re-checks it at once; <see cref="Timeout.InfiniteTimeSpan"/> leaves only those.
    /// </summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often LocalWorkload heartbeats are aged into phases (they change with time alone) and, after this replica became leader, status is caught up.</summary>
    public TimeSpan PhaseInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The namespaces whose objects are read (and whose Sandboxes are reconciled); empty means all.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];
}

/// <summary>
/// The Kubernetes source (<c>--kubernetes</c>): informers for Services, EndpointSlices, RouteGroups, Sandboxes and
/// LocalWorkloads in all namespaces, built on the official KubernetesClient. Once every informer has listed, each
/// burst of changes becomes one publication of the objects in force — invalid objects reported and left out, the
/// last good version of a broken object kept — through the same pipeline as the manifest directory.
/// </summary>
public sealed class KubernetesSource : BackgroundService
{
    private readonly IReadOnlyList<ResourceInformer> _informers;
    private readonly Func<RoutingInputs, IReadOnlyList<ManifestProblem>> _publish;
    private readonly TimeProvider _clock;
    private readonly ILogger<KubernetesSource> _logger;
    private readonly KubernetesSourceOptions _options;
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly LastGoodManifestSet _manifests = new();
    private readonly ProblemLog _problemLog = new();
    private readonly RoutingStatusWriter _status;
    private readonly LocalWorkloadStatusWriter _phases;
    private readonly Func<bool> _acked;
    private readonly Func<bool> _isLeader;
    private volatile bool _statusCurrent;
    private readonly SemaphoreSlim _statusGate = new(1, 1);
    private readonly CoalescingSignal _acksChanged = new();
    private Published? _last;

    /// <summary>
    /// A source reading through <paramref name="client"/>, publishing with <paramref name="publish"/>, and writing
    /// RouteGroup, Sandbox and LocalWorkload status; <paramref name="acked"/> tells whether the connected data planes have ACKed the current
    /// snapshots (always, when null) and is asked again after each <see cref="AcksChanged"/>; only while
    /// <paramref name="isLeader"/> says so (always, when null) is status written.
    /// </summary>
    /// <param name="client">The API server.</param>
    /// <param name="publish">Where the objects in force go (the snapshot publisher).</param>
    /// <param name="clock">Time, for debounce, backoff and status.</param>
    /// <param name="logger">The source's log.</param>
    /// <param name="options">Timing and namespaces.</param>
    /// <param name="acked">Whether data planes ACKed the current snapshots (always, when null).</param>
    /// <param name="isLeader">Whether this replica writes status (always, when null).</param>
    /// <param name="fieldManager">The server-side apply field manager of status writes.</param>
    /// <param name="informers">The informers shared with other components (its own, when null).</param>
    public KubernetesSource(IKubernetes client, Func<RoutingInputs, IReadOnlyList<ManifestProblem>> publish, TimeProvider clock, ILogger<KubernetesSource> logger, KubernetesSourceOptions? options = null, Func<bool>? acked = null, Func<bool>? isLeader = null, string? fieldManager = null, KubernetesInformers? informers = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _publish = publish ?? throw new ArgumentNullException(nameof(publish));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _options = options ?? new KubernetesSourceOptions();
        var shared = informers ?? new KubernetesInformers(clock, logger);
        _informers = [.. ResourceSources.All(client, _options.Namespaces).Select(shared.For)];
        foreach (var informer in _informers)
        {
            informer.Subscribe(() => _changes.Writer.TryWrite(true));
        }

        _status = new RoutingStatusWriter(client, clock, logger, fieldManager ?? "xds-control-plane");
        _phases = new LocalWorkloadStatusWriter(client, clock, logger, fieldManager ?? "xds-control-plane");
        _acked = acked ?? (() => true);
        _isLeader = isLeader ?? (() => true);
    }

    /// <summary>True once every kind has been listed and the first snapshot published.</summary>
    public bool HasSynced { get; private set; }

    /// <summary>True while some RouteGroup's, Sandbox's or LocalWorkload's status says <c>Programmed=False, Pending</c>.</summary>
    public bool HasPendingStatus => _status.AnyPending;

    /// <summary>The resource version each kind's next watch starts from (advanced by events and bookmarks).</summary>
    public IReadOnlyDictionary<string, string?> ResourceVersions => _informers.ToDictionary(i => i.Name, i => i.ResourceVersion);

    /// <summary>How many times each kind was listed (1, plus one per relist after 410 Gone or a failure).</summary>
    public IReadOnlyDictionary<string, int> Lists => _informers.ToDictionary(i => i.Name, i => i.Lists);

    /// <summary>
    /// What the data planes hold may have changed (an ACK, a NACK, a stream closed, another replica's state): re-check
    /// <c>Programmed</c> soon. Calls in a burst cause one re-check; never blocks.
    /// </summary>
    public void AcksChanged() => _acksChanged.Notify();

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Task[] running = [.. _informers.Select(informer => informer.RunAsync(stoppingToken)), StatusLoopAsync(stoppingToken), PhaseLoopAsync(stoppingToken)];
        try
        {
            while (await _changes.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                _changes.Reader.TryRead(out _);
                await Task.Delay(_options.Debounce, _clock, stoppingToken).ConfigureAwait(false);
                _changes.Reader.TryRead(out _);
                if (_informers.All(i => i.HasSynced))
                {
                    await PublishAsync(stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// Re-checks <c>Programmed</c> while an object waits for data planes to ACK: woken by <see cref="AcksChanged"/>
    /// (a burst of them is one re-check), with <see cref="KubernetesSourceOptions.StatusInterval"/> as the safety resync.
    /// </summary>
    private async Task StatusLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await _acksChanged.WaitAsync(_options.StatusInterval, _clock, stoppingToken).ConfigureAwait(false);

                // Re-check while data planes have not ACKed, and catch up after becoming leader.
                if (_last is { } last && (_status.AnyPending || !_statusCurrent))
                {
                    await WriteStatusAsync(last, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Ages LocalWorkload heartbeats into phases, and wakes the status loop when this replica has status to catch up on (it became leader).</summary>
    private async Task PhaseLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.PhaseInterval, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!_statusCurrent && _last is not null && _isLeader())
                {
                    _acksChanged.Notify();
                }

                // Heartbeats age with time alone: the phase is re-checked on every tick.
                if (_isLeader() && _informers.All(i => i.HasSynced))
                {
                    var workloads = _informers.Where(i => i.Kind == LocalWorkload.KindName).SelectMany(i => i.Objects).Select(o => o.Resource).OfType<LocalWorkload>();
                    await _phases.WriteAsync(workloads, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Writes status for the objects of <paramref name="published"/> — the versions that publication was made from, not
    /// whatever the informers hold by now: a newer version is judged when its own publication comes, never against an
    /// older snapshot (which would call it "not in force" for a moment).
    /// </summary>
    private async Task WriteStatusAsync(Published published, CancellationToken cancellationToken)
    {
        if (!_isLeader())
        {
            _statusCurrent = false;
            return;
        }

        await _statusGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _statusCurrent = true;
            await _status.WriteAsync(published.Routed, published.Result, published.Problems, _acked(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _statusGate.Release();
        }
    }

    private async Task PublishAsync(CancellationToken cancellationToken)
    {
        // Each object is its own "file": a broken new version keeps its last good version, a deleted object goes.
        var files = new List<ManifestFile>();
        var routed = new List<IManifestObject>();
        foreach (var informer in _informers)
        {
            var objects = informer.Objects;   // one immutable view, for the snapshot and the status alike
            if (informer.Kind is RouteGroup.KindName or Sandbox.KindName or LocalWorkload.KindName)
            {
                routed.AddRange(objects.Select(o => o.Resource));
            }

            files.AddRange(objects.Select(o => new ManifestFile(o.Location.Source, new ManifestReadResult([o], [], []))));
            files.AddRange(informer.Problems.Select(p => new ManifestFile(p.Location?.Source ?? p.ToString(), new ManifestReadResult([], [p], []))));
        }

        var result = _manifests.Apply(files);
        var problems = result.Unreported(_publish(result.Inputs));
        HasSynced = true;
        foreach (var problem in _problemLog.Fresh([.. result.Problems.Select(p => p.ToString()), .. problems.Select(p => p.ToString())]))
        {
            KubernetesLog.Invalid(_logger, problem);
        }

        KubernetesLog.Published(_logger, result.Inputs.RouteGroups.Count, result.Inputs.Sandboxes.Count, result.Inputs.LocalWorkloads.Count, result.Inputs.Services.Count);
        _last = new Published(result, problems, routed);
        await WriteStatusAsync(_last, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The last publication, kept for re-checking status (replaced whole, so readers never see it half-written).</summary>
    private sealed record Published(ManifestSetResult Result, IReadOnlyList<ManifestProblem> Problems, IReadOnlyList<IManifestObject> Routed);

    /// <inheritdoc />
    public override void Dispose()
    {
        _statusGate.Dispose();
        base.Dispose();
    }
}
