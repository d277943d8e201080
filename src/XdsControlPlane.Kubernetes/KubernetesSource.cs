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
/// last good version of a broken object kept — through the same pipeline as the manifest directory. Work per burst
/// is proportional to what changed: only the objects named by watch events are applied to the last-good set, and an
/// event that changes nothing translation reads (<see cref="RoutingFields"/>: our own status writes, another writer's
/// conditions, LocalWorkload heartbeats) publishes nothing — it only has that object's status checked.
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
    private readonly CoalescingSignal _statusWork = new();
    private readonly Lock _changesGate = new();
    private Dictionary<string, Pending> _routingChanges = new(StringComparer.Ordinal);
    private Dictionary<string, Pending> _statusChanges = new(StringComparer.Ordinal);
    private IReadOnlyList<ManifestProblem> _translationProblems = [];
    private volatile StatusBasis? _last;

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
            informer.Subscribe(changes => Changed(informer, changes));
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
    public void AcksChanged() => _statusWork.Notify();

    /// <summary>How many objects the routing status writer judged so far (for tests and measurements).</summary>
    internal long StatusJudged => _status.Judged;

    /// <summary>
    /// An informer's news: a change of what translation reads queues the object for the next publication; any other
    /// change of a RouteGroup, Sandbox or LocalWorkload (status only) queues a check of its status and nothing else.
    /// </summary>
    private void Changed(ResourceInformer informer, IReadOnlyList<InformerChange> changes)
    {
        bool routing = false, status = false;
        var routed = IsRouted(informer.Kind);
        lock (_changesGate)
        {
            foreach (var change in changes)
            {
                var path = informer.SourceOf(change.Namespace, change.Name);
                if (change.Routing)
                {
                    _routingChanges[path] = new Pending(informer, change.Namespace, change.Name);
                    routing = true;
                }
                else if (routed)
                {
                    _statusChanges[path] = new Pending(informer, change.Namespace, change.Name);
                    status = true;
                }
            }
        }

        // Until the first publication, every informer's news counts, also a list that found nothing: the informer
        // that syncs last may be an empty kind, and the first snapshot waits for all of them.
        if (routing || !HasSynced)
        {
            _changes.Writer.TryWrite(true);
        }

        if (status)
        {
            _statusWork.Notify();
        }
    }

    private static bool IsRouted(string kind) => kind is RouteGroup.KindName or Sandbox.KindName or LocalWorkload.KindName;

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
    /// Checks the status of the objects that changed status only (someone overwrote conditions; our own writes come
    /// back here and find nothing to do) and re-checks <c>Programmed</c> of the objects waiting for data planes to ACK:
    /// woken by those events and by <see cref="AcksChanged"/> (a burst of them is one pass), with
    /// <see cref="KubernetesSourceOptions.StatusInterval"/> as the safety resync. After this replica became leader, one
    /// pass over every object catches up.
    /// </summary>
    private async Task StatusLoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await _statusWork.WaitAsync(_options.StatusInterval, _clock, stoppingToken).ConfigureAwait(false);
                Dictionary<string, Pending> checks;
                lock (_changesGate)
                {
                    checks = _statusChanges;
                    _statusChanges = new(StringComparer.Ordinal);
                }

                if (_last is null)
                {
                    continue;
                }

                var keys = checks.Values.Select(p => new ResourceKey(p.Informer.Kind, p.Namespace, p.Name)).ToHashSet();
                if (keys.Count > 0 || _status.AnyPending || !_statusCurrent)
                {
                    await WriteStatusAsync(keys, stoppingToken, withPending: true).ConfigureAwait(false);
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
    /// replica has status to catch up on), with those waiting for ACKs when <paramref name="withPending"/>, against the last publication — never an object whose newer version waits for
    /// the next one: a newer version is judged when its own publication comes, never against an older snapshot (which
    /// would call it "not in force" for a moment).
    /// </summary>
    private async Task WriteStatusAsync(HashSet<ResourceKey>? keys, CancellationToken cancellationToken, bool withPending = false)
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
            if (withPending && !all)
            {
                keys!.UnionWith(_status.Pending);
            }

            IEnumerable<IManifestObject> objects = all
                ? _informers.Where(i => IsRouted(i.Kind)).SelectMany(i => i.Objects).Select(o => o.Resource)
                : [.. keys!.Where(k => IsRouted(k.Kind)).Select(Current).OfType<IManifestObject>()];
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
        foreach (var informer in _informers)
        {
            if (informer.Kind != key.Kind)
            {
                continue;
            }

            var (obj, _) = informer.Find(key.Namespace, key.Name);
            if (obj is null)
            {
                continue;
            }

            lock (_changesGate)
            {
                return _routingChanges.ContainsKey(informer.SourceOf(key.Namespace, key.Name)) ? null : obj.Resource;
            }
        }

        _status.Forget(key);
        return null;
    }

    private async Task PublishAsync(CancellationToken cancellationToken)
    {
        // Each object is its own "file": a broken new version keeps its last good version, a deleted object goes.
        // The first publication applies everything; later ones only the objects watch events named.
        Dictionary<string, Pending> changed;
        lock (_changesGate)
        {
            changed = _routingChanges;
            _routingChanges = new(StringComparer.Ordinal);
        }

        var first = _last is null;
        var files = new List<ManifestFile>();
        var removed = new List<string>();
        if (first)
        {
            foreach (var informer in _informers)
            {
                files.AddRange(informer.Objects.Select(o => new ManifestFile(o.Location.Source, new ManifestReadResult([o], [], []))));
                files.AddRange(informer.Problems.Select(p => new ManifestFile(p.Location?.Source ?? p.ToString(), new ManifestReadResult([], [p], []))));
            }
        }
        else
        {
            foreach (var (path, (informer, ns, name)) in changed)
            {
                var (obj, problem) = informer.Find(ns, name);
                if (obj is not null)
                {
                    files.Add(new ManifestFile(path, new ManifestReadResult([obj], [], [])));
                }
                else if (problem is not null)
                {
                    files.Add(new ManifestFile(path, new ManifestReadResult([], [problem], [])));
                }
                else
                {
                    removed.Add(path);
                }
            }
        }

        var result = _manifests.Apply(files, removed);
        if (first || result.InputsChanged)
        {
            _translationProblems = _publish(result.Inputs);
            KubernetesLog.Published(_logger, result.Inputs.RouteGroups.Count, result.Inputs.Sandboxes.Count, result.Inputs.LocalWorkloads.Count, result.Inputs.Services.Count);
        }

        var problems = result.Unreported(_translationProblems);
        HasSynced = true;
        foreach (var problem in _problemLog.Fresh([.. result.Problems.Select(p => p.ToString()), .. problems.Select(p => p.ToString())]))
        {
            KubernetesLog.Invalid(_logger, problem);
        }

        // Judge the objects whose own version, problems or state in force changed; the others' status stands.
        var basis = new StatusBasis(result.InForce, StatusBasis.ByObject(result.Problems.Concat(problems)));
        var keys = new HashSet<ResourceKey>(result.Changed);
        keys.UnionWith(changed.Values.Select(p => new ResourceKey(p.Informer.Kind, p.Namespace, p.Name)));
        keys.UnionWith(basis.ProblemsChangedSince(_last));
        _last = basis;
        await WriteStatusAsync(first ? null : keys, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An object an informer named, waiting to be published or to have its status checked.</summary>
    private sealed record Pending(ResourceInformer Informer, string Namespace, string Name);

    /// <inheritdoc />
    public override void Dispose()
    {
        // The status gate is not disposed: the host may dispose this source while ExecuteAsync still finishes a status
        // pass, which would then fail on a disposed semaphore and log the source as faulted at shutdown. A SemaphoreSlim
        // whose wait handle is never asked for holds nothing that needs disposing.
        base.Dispose();
    }
}
