using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>One page of a list call: the objects as JSON and the list's resource version.</summary>
/// <param name="Items">The objects.</param>
/// <param name="ResourceVersion">Where a watch continues from.</param>
internal sealed record ResourceList(IReadOnlyList<JsonObject> Items, string ResourceVersion);

/// <summary>One object an informer saw change.</summary>
/// <param name="Namespace">Its namespace.</param>
/// <param name="Name">Its name.</param>
/// <param name="Routing">
/// Whether what translation reads of it changed (<see cref="RoutingFields"/>): added, deleted, parsed or no longer,
/// or a new version with other routing fields. False for a status-only update (our own status writes, heartbeats).
/// </param>
internal readonly record struct InformerChange(string Namespace, string Name, bool Routing);

/// <summary>How to list and watch one kind through the KubernetesClient.</summary>
internal interface IResourceSource
{
    /// <summary>The kind, for logs and problem locations.</summary>
    string Kind { get; }

    /// <summary>The one namespace listed and watched, or null for all.</summary>
    string? Namespace { get; }

    Task<ResourceList> ListAsync(CancellationToken cancellationToken);

    /// <summary>Watch events from <paramref name="resourceVersion"/>, with bookmarks; <paramref name="onError"/> gets ERROR events.</summary>
    IAsyncEnumerable<(WatchEventType Type, JsonObject Object)> WatchAsync(string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken);
}

/// <summary>
/// Keeps a local copy of one kind: lists, then watches from the list's resource version (with bookmarks), resumes
/// from the last seen version when a watch ends, lists again when the server answers 410 Gone, and backs off with
/// jitter after failures. Each event updates the one object it names (O(1) in the number of objects) and tells every
/// subscriber which objects changed and whether what translation reads of them did; <see cref="Objects"/> is copied
/// when read after a change, so once per burst. One informer serves every component that reads its kind
/// (<see cref="KubernetesInformers"/>): it lists and watches once, however many subscribe.
/// </summary>
/// <param name="source">What to list and watch.</param>
/// <param name="clock">Time, for backoff.</param>
/// <param name="logger">Where list/watch trouble is logged.</param>
/// <param name="random">The backoff's jitter (the informer's own: only its loop draws from it; seeded in tests).</param>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The loop's CancellationTokenSource is cancelled and disposed by the last runner to leave.")]
internal sealed class ResourceInformer(IResourceSource source, TimeProvider clock, ILogger logger, Random random)
{
    /// <summary>From this many items on, a list is read on every core.</summary>
    private const int ParallelReadThreshold = 256;

    private readonly ExponentialBackoff _backoff = Backoff(random);
    private readonly FailureStreak _streak = new();
    private readonly Lock _gate = new();
    private Dictionary<(string Namespace, string Name), ManifestObject> _objects = [];
    private Dictionary<(string Namespace, string Name), ManifestProblem> _problems = [];
    private ManifestObject[]? _objectsView;
    private ManifestProblem[]? _problemsView;
    private Action<IReadOnlyList<InformerChange>>[] _changed = [];
    private Action<JsonObject>[] _observers = [];
    private Action[] _relistingChanged = [];
    private volatile bool _relisting;
    private readonly CancellationTokenSource _loopStop = new();
    private Task? _running;
    private int _runners;

    /// <summary>The kind watched.</summary>
    public string Kind => source.Kind;

    /// <summary>The kind and, when the informer watches one namespace, <c>in NAMESPACE</c>: for logs and per-informer figures.</summary>
    public string Name => source.Namespace is null ? source.Kind : $"{source.Kind} in {source.Namespace}";

    /// <summary>The objects as last seen (an immutable copy, made on the first read after a change).</summary>
    public IReadOnlyCollection<ManifestObject> Objects
    {
        get
        {
            lock (_gate)
            {
                return _objectsView ??= [.. _objects.Values];
            }
        }
    }

    /// <summary>Objects that do not parse as the model, with the reason; they are left out of <see cref="Objects"/>.</summary>
    public IReadOnlyList<ManifestProblem> Problems
    {
        get
        {
            lock (_gate)
            {
                return _problemsView ??= [.. _problems.Values];
            }
        }
    }

    /// <summary>The object <paramref name="ns"/>/<paramref name="name"/> as last seen, or the problem that keeps it out, or neither when there is none.</summary>
    public (ManifestObject? Object, ManifestProblem? Problem) Find(string ns, string name)
    {
        lock (_gate)
        {
            return (_objects.GetValueOrDefault((ns, name)), _problems.GetValueOrDefault((ns, name)));
        }
    }

    /// <summary>Where an object of this kind is said to come from: its "file" for the last-good set and problem locations.</summary>
    public string SourceOf(string ns, string name) => $"kubernetes {source.Kind} {ns}/{name}";

    /// <summary>True once the first list has completed.</summary>
    public bool HasSynced { get; private set; }

    /// <summary>
    /// True from the moment an informer that had listed learns it must list again (410 Gone: the server no longer has
    /// the changes since its version) until that list succeeds, however often it is retried: meanwhile its objects may
    /// lack some that exist.
    /// </summary>
    public bool IsRelisting => _relisting;

    /// <summary>How many times the informer listed (1 plus relists after 410 Gone or failures).</summary>
    public int Lists { get; private set; }

    /// <summary>The resource version the next watch starts from.</summary>
    public string? ResourceVersion { get; private set; }

    /// <summary>
    /// Adds a subscriber: <paramref name="changed"/> is called after every change, <paramref name="observe"/> (when
    /// given) with every object listed or changed (deleted ones too) before parsing — how controllers queue work. Both
    /// must not block. Subscribe before <see cref="RunAsync"/>, so the first list reaches every subscriber.
    /// </summary>
    public void Subscribe(Action changed, Action<JsonObject>? observe = null)
    {
        ArgumentNullException.ThrowIfNull(changed);
        Subscribe(_ => changed(), observe);
    }

    /// <summary>
    /// Adds a subscriber told, after every list or event, which objects changed and whether what translation reads of
    /// them did (<see cref="InformerChange.Routing"/>); <paramref name="observe"/> as in <see cref="Subscribe(Action, Action{JsonObject}?)"/>.
    /// </summary>
    public void Subscribe(Action<IReadOnlyList<InformerChange>> changed, Action<JsonObject>? observe = null)
    {
        ArgumentNullException.ThrowIfNull(changed);
        lock (_gate)
        {
            _changed = [.. _changed, changed];
            if (observe is not null)
            {
                _observers = [.. _observers, observe];
            }
        }
    }

    /// <summary>Has <paramref name="changed"/> called whenever <see cref="IsRelisting"/> changes (it must not block).</summary>
    public void SubscribeRelisting(Action changed)
    {
        ArgumentNullException.ThrowIfNull(changed);
        lock (_gate)
        {
            _relistingChanged = [.. _relistingChanged, changed];
        }
    }

    /// <summary>
    /// Lists and watches for as long as any component sharing the informer runs: the first call starts the loop, each
    /// call returns when its own <paramref name="cancellationToken"/> fires, and the last one to leave stops the loop
    /// and waits for it. So a component stops on its own schedule, never waiting for another one's shutdown.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Task loop;
        lock (_gate)
        {
            _runners++;
            _running ??= Task.Run(() => LoopAsync(_loopStop.Token), CancellationToken.None);
            loop = _running;
        }

        try
        {
            await loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            bool last;
            lock (_gate)
            {
                last = --_runners == 0;
            }

            if (last)
            {
                await _loopStop.CancelAsync().ConfigureAwait(false);
                await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                _loopStop.Dispose();
            }
        }
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            long? watchStarted = null;
            var events = 0;
            try
            {
                if (ResourceVersion is null)
                {
                    var list = await source.ListAsync(cancellationToken).ConfigureAwait(false);
                    Relisted(list.Items);
                    ResourceVersion = list.ResourceVersion;
                    Lists++;
                    HasSynced = true;
                    KubernetesLog.Listed(logger, Name, list.Items.Count, list.ResourceVersion);
                    SetRelisting(false);
                    Recovered();
                }

                var gone = false;
                var started = clock.GetTimestamp();
                watchStarted = started;
                await foreach (var (type, obj) in source.WatchAsync(ResourceVersion!, e => gone |= IsGone(e), cancellationToken).ConfigureAwait(false))
                {
                    events++;
                    var version = obj["metadata"]?["resourceVersion"]?.GetValue<string>();
                    if (type != WatchEventType.Bookmark && Apply(type, obj) is { } change)
                    {
                        Notify([change]);
                    }

                    ResourceVersion = version ?? ResourceVersion;
                    failures = 0;
                    Recovered();
                }

                if (gone)
                {
                    // The version we hold is older than the server's history: start over from a fresh list.
                    KubernetesLog.Gone(logger, Name, ResourceVersion);
                    MustRelist();
                }
                else if (events == 0 && clock.GetElapsedTime(started) < TimeSpan.FromSeconds(1))
                {
                    // A watch that ends at once without an event: do not hammer the API server with new ones.
                    failures++;
                    await Task.Delay(_backoff.Delay(failures), clock, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (watchStarted is { } opened && IsStreamBroken(e) && !cancellationToken.IsCancellationRequested)
            {
                // A watch cut mid-stream (an API server restarting, a load balancer's idle timeout) is routine, not an
                // outage: resume from the last version seen, at once unless it broke as soon as it opened.
                KubernetesLog.WatchCut(logger, Name, ResourceVersion, e.Message);
                if (events == 0 && clock.GetElapsedTime(opened) < TimeSpan.FromSeconds(1))
                {
                    failures++;
                    await Task.Delay(_backoff.Delay(failures), clock, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
            catch (Exception e) when (IsGone(e))
            {
                KubernetesLog.Gone(logger, Name, ResourceVersion);
                MustRelist();
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Any failure (network, API server, an unexpected answer) retries with backoff: an informer never stops
                // while the process runs, or its kind would silently go stale.
                // An outage is said once (a Warning when it starts, Information when it ends), not per retry; an API
                // server that asks for a wait (429 with Retry-After) gets at least that.
                failures++;
                var delay = _backoff.Delay(failures);
                if (ApiRetryAfter.Of(e, clock) is { } asked && asked > delay)
                {
                    delay = asked;
                }

                if (_streak.Failed())
                {
                    KubernetesLog.WatchFailed(logger, Name, delay.TotalSeconds, e.Message);
                }
                else
                {
                    KubernetesLog.WatchRetry(logger, Name, delay.TotalSeconds, e.Message);
                }

                await Task.Delay(delay, clock, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>The version held is gone from the server's history: the next round lists again, and until it has, the informer is relisting.</summary>
    private void MustRelist()
    {
        ResourceVersion = null;
        if (HasSynced)
        {
            SetRelisting(true);
        }
    }

    private void SetRelisting(bool relisting)
    {
        if (_relisting == relisting)
        {
            return;
        }

        _relisting = relisting;
        foreach (var changed in _relistingChanged)
        {
            changed();
        }
    }

    /// <summary>Whether <paramref name="failure"/> is a response stream that broke (the connection reset or closed mid-body), not an answer of the API server.</summary>
    private static bool IsStreamBroken(Exception failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            if (e is IOException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A list or a watch event came through: an outage that was said to have started is said to have ended.</summary>
    private void Recovered()
    {
        if (_streak.Succeeded() is > 0 and var failures)
        {
            KubernetesLog.WatchRecovered(logger, Name, failures);
        }
    }

    /// <summary>Replaces every object with a fresh list's, and tells what changed: the objects that differ, and those gone.</summary>
    private void Relisted(IReadOnlyList<JsonObject> items)
    {
        var before = (_objects, _problems);
        var objects = new Dictionary<(string, string), ManifestObject>();
        var problems = new Dictionary<(string, string), ManifestProblem>();
        foreach (var item in items)
        {
            Observe(item);
        }

        // Reading is pure and each item its own tree: a large list (10,000 RouteGroups at a restart) is read on every core.
        var read = new ((string, string) Key, ManifestObject? Object, ManifestProblem? Problem)[items.Count];
        if (items.Count < ParallelReadThreshold)
        {
            for (var i = 0; i < items.Count; i++)
            {
                read[i] = Read(WatchEventType.Added, items[i]);
            }
        }
        else
        {
            Parallel.For(0, items.Count, i => read[i] = Read(WatchEventType.Added, items[i]));
        }

        foreach (var (key, parsed, problem) in read)
        {
            if (parsed is not null)
            {
                objects[key] = parsed;
            }
            else if (problem is not null)
            {
                problems[key] = problem;
            }
        }

        var changes = new List<InformerChange>();
        foreach (var key in before._objects.Keys.Concat(before._problems.Keys).Concat(objects.Keys).Concat(problems.Keys).Distinct())
        {
            var old = before._objects.GetValueOrDefault(key);
            var now = objects.GetValueOrDefault(key);
            changes.Add(new InformerChange(key.Item1, key.Item2, Routing: !(old is not null && now is not null && RoutingFields.Equal(old.Resource, now.Resource))));
        }

        lock (_gate)
        {
            _objects = objects;
            _problems = problems;
            _objectsView = null;
            _problemsView = null;
        }

        Notify(changes);
    }

    private void Notify(IReadOnlyList<InformerChange> changes)
    {
        foreach (var changed in _changed)
        {
            changed(changes);
        }
    }

    /// <summary>Applies one watch event to the object it names; returns what changed (null for a delete of an unknown object).</summary>
    private InformerChange? Apply(WatchEventType type, JsonObject obj)
    {
        var (key, parsed, problem) = Parse(type, obj);
        lock (_gate)
        {
            var old = _objects.GetValueOrDefault(key);
            var hadProblem = _problems.Remove(key);
            _objects.Remove(key);
            if (parsed is not null)
            {
                _objects[key] = parsed;
            }
            else if (problem is not null)
            {
                _problems[key] = problem;
            }

            _objectsView = null;
            if (hadProblem || problem is not null)
            {
                _problemsView = null;
            }

            if (old is null && parsed is null && !hadProblem && problem is null)
            {
                return null;
            }

            return new InformerChange(key.Item1, key.Item2, Routing: !(old is not null && parsed is not null && RoutingFields.Equal(old.Resource, parsed.Resource)));
        }
    }

    /// <summary>Tells the observers about <paramref name="obj"/> and parses it: the object, or why it does not parse (neither for a delete or another kind).</summary>
    private ((string, string) Key, ManifestObject? Object, ManifestProblem? Problem) Parse(WatchEventType type, JsonObject obj)
    {
        Observe(obj);
        return Read(type, obj);
    }

    private void Observe(JsonObject obj)
    {
        foreach (var observe in _observers)
        {
            observe(obj);
        }
    }

    /// <summary>Parses <paramref name="obj"/> (no observer told): the object, or why it does not parse (neither for a delete or another kind).</summary>
    private ((string, string) Key, ManifestObject? Object, ManifestProblem? Problem) Read(WatchEventType type, JsonObject obj)
    {
        var ns = obj["metadata"]?["namespace"]?.GetValue<string>() ?? ObjectMeta.DefaultNamespace;
        var name = obj["metadata"]?["name"]?.GetValue<string>() ?? "";
        if (type == WatchEventType.Deleted)
        {
            return ((ns, name), null, null);
        }

        var read = ManifestReader.Read(obj, SourceOf(ns, name));
        return read.Objects is [var single] ? ((ns, name), single, null)
            : read.Problems.Count > 0 ? ((ns, name), null, read.Problems[0])
            : ((ns, name), null, null);
    }

    /// <summary>The list/watch retry delays: 1 s, 2 s, 4 s … up to 30 s, each with ±20% jitter so replicas do not retry in step.</summary>
    internal static ExponentialBackoff Backoff(Random random) => new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), lowestFactor: 0.8, highestFactor: 1.2, random);

    private static bool IsGone(Exception e) => e switch
    {
        KubernetesException { Status.Code: 410 } => true,
        HttpOperationException { Response.StatusCode: HttpStatusCode.Gone } => true,
        _ => false,
    };
}
