using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Hosting;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Writes the status of RouteGroups, Sandboxes and LocalWorkloads (<see cref="RoutingStatusWriter"/>) and ages
/// LocalWorkload heartbeats into phases (<see cref="LocalWorkloadStatusWriter"/>), while this replica leads. Status is
/// background work, lower priority than publication: it is told of each pass of the <see cref="SourcePipeline"/>
/// (<see cref="IPublicationObserver"/>) and only queues the objects to judge there; a few workers
/// (<see cref="KubernetesStatusOptions.StatusConcurrency"/>) judge each queued object against the newest publication and
/// write its status only when the object does not say it already, at most <see cref="KubernetesStatusOptions.StatusQps"/>
/// writes per second (<see cref="TokenBucket"/>), and each write gives way to a publication that is due
/// (<see cref="PublicationYield"/>). The watch event of our own write is recognised by its resource version (a
/// comparison) and queues nothing; a status-only event of someone else's queues a check. Also woken by
/// <see cref="AcksChanged"/>, with <see cref="KubernetesStatusOptions.StatusInterval"/> as the safety resync; after
/// this replica became leader, every object is queued once to catch up.
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
    private readonly ControllerMetrics _metrics;
    private readonly StatusWriteQueue _queue;
    private readonly TokenBucket _bucket;
    private readonly PublicationYield _yield = new();
    private readonly Func<bool> _acked;
    private readonly Func<bool> _isLeader;
    private readonly SemaphoreSlim _workloadGate = new(1, 1);
    private readonly FailureStreak _writeFailures = new();
    private readonly CoalescingSignal _statusWork = new();
    private readonly Lock _gate = new();
    private HashSet<ResourceKey> _queued = [];
    private bool _queuedAll;
    private volatile bool _statusCurrent;
    private volatile StatusBasis? _last;
    private long _noted;

    /// <summary>
    /// A status writer through <paramref name="client"/> for the publications of <paramref name="pipeline"/>;
    /// <paramref name="acked"/> tells whether the connected data planes have ACKed the current snapshots (always, when
    /// null) and is asked again after each <see cref="AcksChanged"/>; only while <paramref name="isLeader"/> says so
    /// (always, when null) is status written. The status queue's depth and the writes by result go to
    /// <paramref name="metrics"/> (the default registry when null).
    /// </summary>
    public KubernetesStatusService(IKubernetes client, KubernetesInformers informers, SourcePipeline pipeline, TimeProvider clock, ILogger<KubernetesStatusService> logger, KubernetesStatusOptions? options = null, Func<bool>? acked = null, Func<bool>? isLeader = null, ControllerMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(informers);
        ArgumentNullException.ThrowIfNull(pipeline);
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _options = options ?? new KubernetesStatusOptions();
        var problems = _options.Validate().ToArray();
        if (problems.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _pipeline = pipeline;
        var all = ResourceSources.All(client, _options.Namespaces).Select(informers.For).ToArray();
        _informers = [.. all.Where(i => IsRouted(i.Kind))];
        foreach (var informer in all)
        {
            informer.Subscribe(changes => Changed(informer, changes));
        }

        _metrics = metrics ?? new ControllerMetrics();
        _status = new RoutingStatusWriter(client, clock, _options.FieldManager) { PreviewDomain = _options.PreviewDomain, PreviewSalt = _options.PreviewSalt };
        _phases = new LocalWorkloadStatusWriter(client, clock, logger, _options.FieldManager);
        _queue = new StatusWriteQueue(clock, _metrics, _options.StatusConcurrency);
        _bucket = new TokenBucket(_options.StatusQps, _options.StatusBurst, clock);
        _acked = acked ?? (() => true);
        _isLeader = isLeader ?? (() => true);
        pipeline.Observe(this);
    }

    /// <summary>True while some RouteGroup's, Sandbox's or LocalWorkload's status says <c>Programmed=False, Pending</c>.</summary>
    public bool HasPendingStatus => _status.AnyPending;

    /// <summary>How many times objects were judged so far (for tests and measurements).</summary>
    public long StatusJudged => _status.Judged;

    /// <summary>Objects waiting in the status queue and its backlog (for tests and measurements; also <c>sandboxctl_controller_queue_depth{controller="status"}</c> and <c>sandboxctl_status_backlog</c>).</summary>
    public int StatusQueued => _queue.Depth;

    /// <summary>Status writes waiting for a token of the rate limit now (for tests and measurements).</summary>
    internal int StatusWritesThrottled => _bucket.Waiting;

    /// <summary>
    /// How many pipeline passes this writer took note of, and how many of them its workers have finished judging
    /// (for tests and measurements: status is settled for every pass up to <c>Judged</c>).
    /// </summary>
    public (long Noted, long Judged) Progress => (Interlocked.Read(ref _noted), _queue.Judged);

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
        ResourceKey[] changed = [.. result.Changed.Concat(basis.ProblemsChangedSince(_last)).Where(k => IsRouted(k.Kind))];
        lock (_gate)
        {
            _queued.UnionWith(changed);
            _queuedAll |= publication.First;
            _last = basis;
            _noted++;
        }

        _yield.Done();
        _statusWork.Notify();
    }

    /// <summary>
    /// An informer's news. A change of what translation reads makes a publication due (status writes give way to it);
    /// for RouteGroups, Sandboxes and LocalWorkloads it comes back through <see cref="Applied"/>. A status-only change
    /// queues a check of its status — unless it is the watch event of our own write.
    /// </summary>
    private void Changed(ResourceInformer informer, IReadOnlyList<InformerChange> changes)
    {
        if (changes.Any(c => c.Routing))
        {
            _yield.Due();
        }

        if (!IsRouted(informer.Kind))
        {
            return;
        }

        var queued = false;
        foreach (var change in changes.Where(c => !c.Routing))
        {
            var key = new ResourceKey(informer.Kind, change.Namespace, change.Name);
            if (_status.IsOwnWrite(key, informer.Find(change.Namespace, change.Name).Object?.Resource.Metadata.ResourceVersion))
            {
                continue;
            }

            lock (_gate)
            {
                queued |= _queued.Add(key);
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
        await Task.WhenAll(StatusLoopAsync(stoppingToken), _queue.RunAsync(_options.StatusConcurrency, JudgeAsync, stoppingToken), PhaseLoopAsync(stoppingToken))
            .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

    /// <summary>Queues what was noted for the workers, with the objects waiting for data planes to ACK (<c>Programmed</c> re-checked).</summary>
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

                if (!_isLeader())
                {
                    _statusCurrent = false;
                    _queue.Add([], null, noted);
                    continue;
                }

                // After the first publication, or after this replica became leader: every object, once (a backlog that
                // the objects changed meanwhile overtake).
                ResourceKey[]? every = null;
                if (all || !_statusCurrent)
                {
                    _statusCurrent = true;
                    every = [.. _informers.SelectMany(i => i.Objects).Select(o => o.Resource.Key)];
                    keys.Clear();   // each is in the backlog
                }

                keys.UnionWith(_status.Pending);
                _queue.Add(keys, every, noted);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// One worker's turn with <paramref name="key"/>: judged against the newest publication; when its status needs a
    /// write, a token of the rate limit and a due publication are waited for, it is judged again (what it waited for may
    /// have changed it) and written. Never an object whose newer version waits for the next publication: it is judged
    /// when that publication comes, never against an older snapshot (which would call it "not in force" for a moment).
    /// </summary>
    private async Task JudgeAsync(ResourceKey key, CancellationToken cancellationToken)
    {
        try
        {
            if (Judge(key) is null)
            {
                return;
            }

            await _bucket.TakeAsync(cancellationToken).ConfigureAwait(false);
            await _yield.WaitAsync(_options.PublicationYield, _clock, cancellationToken).ConfigureAwait(false);
            if (Judge(key) is not { } write)
            {
                return;
            }

            var workload = key.Kind == LocalWorkload.KindName;
            if (workload)
            {
                // The phase loop writes LocalWorkloads too: one write of an object at a time.
                await _workloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            try
            {
                var result = await _status.SendAsync(write, cancellationToken).ConfigureAwait(false);
                _metrics.StatusWrite(result.ToString().ToLowerInvariant());
                WriteWentThrough(key);
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException)
            {
                _metrics.StatusWrite(StatusWriteResult.Failed.ToString().ToLowerInvariant());
                WriteFailed(key, e);
            }
            finally
            {
                if (workload)
                {
                    _workloadGate.Release();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Anything the writer does not handle (a client timeout, a bug): every object is queued again within a tick
            // of the phase loop. Status writing never stops.
            _statusCurrent = false;
            KubernetesLog.StatusPassFailed(_logger, e);
        }
    }

    /// <summary>A write of <paramref name="key"/> went through: its backoff starts over, and an outage of status writes is said to have ended.</summary>
    private void WriteWentThrough(ResourceKey key)
    {
        _queue.Succeeded(key);
        if (_writeFailures.Succeeded() is > 0 and var failures)
        {
            KubernetesLog.StatusWritesRecovered(_logger, failures);
        }
    }

    /// <summary>
    /// A write of <paramref name="key"/> failed (the API server answered 5xx or 429, or could not be reached): the key is
    /// judged and written again after its backoff, or after the wait the API server asked for when longer. The first
    /// failure after a success is a Warning; the rest, until a write succeeds, are Debug (an outage is said once).
    /// </summary>
    private void WriteFailed(ResourceKey key, Exception failure)
    {
        var delay = _queue.Retry(key, ApiRetryAfter.Of(failure, _clock));
        var resource = key.ToString();
        if (_writeFailures.Failed())
        {
            KubernetesLog.StatusWritesFailing(_logger, resource, failure.Message, delay.TotalSeconds);
        }
        else
        {
            KubernetesLog.StatusWriteRetry(_logger, resource, failure.Message, delay.TotalSeconds);
        }
    }

    /// <summary>The write <paramref name="key"/> needs now, or null (skipped: counted) when it needs none, is gone, or is not leader's to write.</summary>
    private StatusWrite? Judge(ResourceKey key)
    {
        if (!_isLeader())
        {
            _statusCurrent = false;   // caught up when this replica leads again
            return null;
        }

        var write = Current(key) is { } obj ? _status.Judge(obj, _last!, _acked()) : null;
        if (write is null)
        {
            _metrics.StatusWrite("skipped");
        }

        return write;
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

                // Heartbeats age with time alone: the phase is re-checked on every tick (one write of a LocalWorkload at a
                // time, so an object never has two writes in flight).
                if (_isLeader() && _informers.All(i => i.HasSynced))
                {
                    var workloads = _informers.Where(i => i.Kind == LocalWorkload.KindName).SelectMany(i => i.Objects).Select(o => o.Resource).OfType<LocalWorkload>();
                    await _workloadGate.WaitAsync(stoppingToken).ConfigureAwait(false);
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
                        _workloadGate.Release();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
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
        // The gate and the queue are not disposed: the host may dispose this service while ExecuteAsync still finishes a
        // write, which would then fail on a disposed semaphore and log the service as faulted at shutdown. A SemaphoreSlim
        // whose wait handle is never asked for holds nothing that needs disposing.
        base.Dispose();
    }
}
