using k8s;
using Microsoft.Extensions.Hosting;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;

namespace XdsControlPlane.Kubernetes;

/// <summary>Timing and scope of the status writer.</summary>
public sealed record KubernetesStatusOptions
{
    /// <summary>
    /// The safety resync of <c>Programmed</c>: how often it is re-checked while data planes have not ACKed yet, in case
    /// a wake-up was missed. <see cref="KubernetesStatusService.AcksChanged"/> (an ACK, a NACK, a closed stream, another
    /// replica's news) re-checks it at once; <see cref="Timeout.InfiniteTimeSpan"/> leaves only those.
    /// </summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often LocalWorkload heartbeats are aged into phases (they change with time alone) and, after this replica became leader, status is caught up.</summary>
    public TimeSpan PhaseInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The field manager of the status writes.</summary>
    public string FieldManager { get; init; } = FieldManagers.ControlPlane;

    /// <summary>The namespaces whose objects are judged; empty means all.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];
}

/// <summary>
/// Writes the status of RouteGroups, Sandboxes and LocalWorkloads (<see cref="RoutingStatusWriter"/>) and ages
/// LocalWorkload heartbeats into phases (<see cref="LocalWorkloadStatusWriter"/>), while this replica leads. It is
/// told of each pass of the <see cref="SourcePipeline"/> (<see cref="IPublicationObserver"/>) and only takes note
/// there: the writes run on its own loop, so publication never waits for the API server. Also woken by status-only
/// watch events (someone overwrote conditions; our own writes come back and find nothing to do) and by
/// <see cref="AcksChanged"/>, with <see cref="KubernetesStatusOptions.StatusInterval"/> as the safety resync; after
/// this replica became leader, one pass over every object catches up.
/// </summary>
public sealed class KubernetesStatusService : BackgroundService, IPublicationObserver
{
    private readonly IReadOnlyList<ResourceInformer> _informers;
    private readonly ILogger _logger;
    private readonly SourcePipeline _pipeline;
    private readonly TimeProvider _clock;
    private readonly KubernetesStatusOptions _options;
    private readonly RoutingStatusWriter _status;
    private readonly LocalWorkloadStatusWriter _phases;
    private readonly Func<bool> _acked;
    private readonly Func<bool> _isLeader;
    private readonly SemaphoreSlim _statusGate = new(1, 1);
    private readonly CoalescingSignal _statusWork = new();
    private readonly Lock _gate = new();
    private HashSet<ResourceKey> _queued = [];
    private bool _queuedAll;
    private volatile bool _statusCurrent;
    private volatile StatusBasis? _last;
    private long _noted;
    private long _judged;

    /// <summary>
    /// A status writer through <paramref name="client"/> for the publications of <paramref name="pipeline"/>;
    /// <paramref name="acked"/> tells whether the connected data planes have ACKed the current snapshots (always, when
    /// null) and is asked again after each <see cref="AcksChanged"/>; only while <paramref name="isLeader"/> says so
    /// (always, when null) is status written.
    /// </summary>
    public KubernetesStatusService(IKubernetes client, KubernetesInformers informers, SourcePipeline pipeline, TimeProvider clock, ILogger<KubernetesStatusService> logger, KubernetesStatusOptions? options = null, Func<bool>? acked = null, Func<bool>? isLeader = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(pipeline);
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _options = options ?? new KubernetesStatusOptions();
        _pipeline = pipeline;
        _informers = [.. ResourceSources.All(client, _options.Namespaces).Select(informers.For).Where(i => IsRouted(i.Kind))];
        foreach (var informer in _informers)
        {
            informer.Subscribe(changes => Changed(informer, changes));
        }

        _status = new RoutingStatusWriter(client, clock, logger, _options.FieldManager);
        _phases = new LocalWorkloadStatusWriter(client, clock, logger, _options.FieldManager);
        _acked = acked ?? (() => true);
        _isLeader = isLeader ?? (() => true);
        pipeline.Observe(this);
    }

    /// <summary>True while some RouteGroup's, Sandbox's or LocalWorkload's status says <c>Programmed=False, Pending</c>.</summary>
    public bool HasPendingStatus => _status.AnyPending;

    /// <summary>How many objects the routing status writer judged so far (for tests and measurements).</summary>
    public long StatusJudged => _status.Judged;

    /// <summary>
    /// How many pipeline passes this writer took note of, and how many of them its status passes have finished judging
    /// (for tests and measurements: status is settled for every pass up to <c>Judged</c>).
    /// </summary>
    public (long Noted, long Judged) Progress => (Interlocked.Read(ref _noted), Interlocked.Read(ref _judged));

    /// <summary>
    /// What the data planes hold may have changed (an ACK, a NACK, a stream closed, another replica's state): re-check
    /// <c>Programmed</c> soon. Calls in a burst cause one re-check; never blocks.
    /// </summary>
    public void AcksChanged() => _statusWork.Notify();

    /// <summary>
    /// A pass of the pipeline: judge the objects whose own version, problems or state in force changed against it (every
    /// object after the first); the others' status stands. Takes note and returns.
    /// </summary>
    public void Applied(Publication publication)
    {
        ArgumentNullException.ThrowIfNull(publication);
        var result = publication.Result;
        var basis = new StatusBasis(result.InForce, StatusBasis.ByObject(publication.Problems));
        lock (_gate)
        {
            _queued.UnionWith(result.Changed.Where(k => IsRouted(k.Kind)));
            _queued.UnionWith(basis.ProblemsChangedSince(_last).Where(k => IsRouted(k.Kind)));
            _queuedAll |= publication.First;
            _last = basis;
            _noted++;
        }

        _statusWork.Notify();
    }

    /// <summary>A status-only change of a RouteGroup, Sandbox or LocalWorkload queues a check of its status; changes of what translation reads come back through <see cref="Applied"/>.</summary>
    private void Changed(ResourceInformer informer, IReadOnlyList<InformerChange> changes)
    {
        var queued = false;
        lock (_gate)
        {
            foreach (var change in changes.Where(c => !c.Routing))
            {
                queued |= _queued.Add(new ResourceKey(informer.Kind, change.Namespace, change.Name));
            }
        }

        if (queued)
        {
            _statusWork.Notify();
        }
    }

    private static bool IsRouted(string kind) => kind is RouteGroup.KindName or Sandbox.KindName or LocalWorkload.KindName;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken) =>
        await Task.WhenAll(StatusLoopAsync(stoppingToken), PhaseLoopAsync(stoppingToken)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

    /// <summary>Writes the status of what was queued, and re-checks <c>Programmed</c> of the objects waiting for data planes to ACK.</summary>
    private async Task StatusLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await _statusWork.WaitAsync(_options.StatusInterval, _clock, stoppingToken).ConfigureAwait(false);
                if (_last is null)
                {
                    continue;
                }

                HashSet<ResourceKey> keys;
                bool all;
                long noted;
                lock (_gate)
                {
                    (keys, all, noted) = (_queued, _queuedAll, _noted);
                    (_queued, _queuedAll) = ([], false);
                }

                try
                {
                    if (all || keys.Count > 0 || _status.AnyPending || !_statusCurrent)
                    {
                        await WriteStatusAsync(all ? null : keys, stoppingToken).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // Anything the writers do not handle (a client timeout, a bug): what was queued is caught up by a pass
                    // over every object, which the phase loop asks for within a tick. Status writing never stops.
                    _statusCurrent = false;
                    KubernetesLog.StatusPassFailed(_logger, e);
                }

                Interlocked.Exchange(ref _judged, noted);
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
                    _statusWork.Notify();
                }

                // Heartbeats age with time alone: the phase is re-checked on every tick (one status pass at a time, so
                // an object never has two writes in flight).
                if (_isLeader() && _informers.All(i => i.HasSynced))
                {
                    var workloads = _informers.Where(i => i.Kind == LocalWorkload.KindName).SelectMany(i => i.Objects).Select(o => o.Resource).OfType<LocalWorkload>();
                    await _statusGate.WaitAsync(stoppingToken).ConfigureAwait(false);
                    try
                    {
                        await _phases.WriteAsync(workloads, stoppingToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                    {
                        // Tried again on the next tick.
                        KubernetesLog.StatusPassFailed(_logger, e);
                    }
                    finally
                    {
                        _statusGate.Release();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Writes the status of the objects named by <paramref name="keys"/> (of every object when null, or when this
    /// replica has status to catch up on), with those waiting for ACKs, against the last publication — never an object
    /// whose newer version waits for the next one: a newer version is judged when its own publication comes, never
    /// against an older snapshot (which would call it "not in force" for a moment).
    /// </summary>
    private async Task WriteStatusAsync(HashSet<ResourceKey>? keys, CancellationToken cancellationToken)
    {
        if (!_isLeader())
        {
            _statusCurrent = false;
            return;
        }

        await _statusGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var basis = _last!;
            var all = keys is null || !_statusCurrent;
            _statusCurrent = true;
            if (!all)
            {
                keys!.UnionWith(_status.Pending);
            }

            IEnumerable<IManifestObject> objects = all
                ? _informers.SelectMany(i => i.Objects).Select(o => o.Resource)
                : [.. keys!.Select(Current).OfType<IManifestObject>()];
            await _status.WriteAsync(objects, basis, _acked(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _statusGate.Release();
        }
    }

    /// <summary>The informer's version of <paramref name="key"/>; null when it is gone or a newer version waits for the next publication.</summary>
    private IManifestObject? Current(ResourceKey key)
    {
        foreach (var informer in _informers.Where(i => i.Kind == key.Kind))
        {
            var (obj, _) = informer.Find(key.Namespace, key.Name);
            if (obj is not null)
            {
                return _pipeline.IsPending(informer.SourceOf(key.Namespace, key.Name)) ? null : obj.Resource;
            }
        }

        _status.Forget(key);
        return null;
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        // The status gate is not disposed: the host may dispose this service while ExecuteAsync still finishes a status
        // pass, which would then fail on a disposed semaphore and log the service as faulted at shutdown. A SemaphoreSlim
        // whose wait handle is never asked for holds nothing that needs disposing.
        base.Dispose();
    }
}
