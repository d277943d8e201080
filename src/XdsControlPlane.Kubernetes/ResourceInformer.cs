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
/// jitter after failures. Each change replaces the informer's immutable view and calls every subscriber. One informer
/// serves every component that reads its kind (<see cref="KubernetesInformers"/>): it lists and watches once, however
/// many subscribe.
/// </summary>
/// <param name="source">What to list and watch.</param>
/// <param name="clock">Time, for backoff.</param>
/// <param name="logger">Where list/watch trouble is logged.</param>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The loop's CancellationTokenSource is cancelled and disposed by the last runner to leave.")]
internal sealed class ResourceInformer(IResourceSource source, TimeProvider clock, ILogger logger)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private readonly Lock _gate = new();
    private Dictionary<(string Namespace, string Name), ManifestObject> _objects = [];
    private Action[] _changed = [];
    private Action<JsonObject>[] _observers = [];
    private readonly CancellationTokenSource _loopStop = new();
    private Task? _running;
    private int _runners;

    /// <summary>The kind watched.</summary>
    public string Kind => source.Kind;

    /// <summary>The kind and, when the informer watches one namespace, <c>in NAMESPACE</c>: for logs and per-informer figures.</summary>
    public string Name => source.Namespace is null ? source.Kind : $"{source.Kind} in {source.Namespace}";

    /// <summary>The objects as last seen (an immutable view, replaced on each change).</summary>
    public IReadOnlyCollection<ManifestObject> Objects { get; private set; } = [];

    /// <summary>Objects that do not parse as the model, with the reason; they are left out of <see cref="Objects"/>.</summary>
    public IReadOnlyList<ManifestProblem> Problems { get; private set; } = [];

    /// <summary>True once the first list has completed.</summary>
    public bool HasSynced { get; private set; }

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
        lock (_gate)
        {
            _changed = [.. _changed, changed];
            if (observe is not null)
            {
                _observers = [.. _observers, observe];
            }
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
        var problems = new Dictionary<(string, string), ManifestProblem>();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (ResourceVersion is null)
                {
                    var list = await source.ListAsync(cancellationToken).ConfigureAwait(false);
                    problems.Clear();
                    var objects = new Dictionary<(string, string), ManifestObject>();
                    foreach (var item in list.Items)
                    {
                        Apply(objects, problems, WatchEventType.Added, item);
                    }

                    Publish(objects, problems);
                    ResourceVersion = list.ResourceVersion;
                    Lists++;
                    HasSynced = true;
                    KubernetesLog.Listed(logger, Name, list.Items.Count, list.ResourceVersion);
                }

                var gone = false;
                var started = clock.GetTimestamp();
                var events = 0;
                await foreach (var (type, obj) in source.WatchAsync(ResourceVersion!, e => gone |= IsGone(e), cancellationToken).ConfigureAwait(false))
                {
                    events++;
                    var version = obj["metadata"]?["resourceVersion"]?.GetValue<string>();
                    if (type != WatchEventType.Bookmark)
                    {
                        var objects = new Dictionary<(string, string), ManifestObject>(_objects);
                        Apply(objects, problems, type, obj);
                        Publish(objects, problems);
                    }

                    ResourceVersion = version ?? ResourceVersion;
                    failures = 0;
                }

                if (gone)
                {
                    // The version we hold is older than the server's history: start over from a fresh list.
                    KubernetesLog.Gone(logger, Name, ResourceVersion);
                    ResourceVersion = null;
                }
                else if (events == 0 && clock.GetElapsedTime(started) < TimeSpan.FromSeconds(1))
                {
                    // A watch that ends at once without an event: do not hammer the API server with new ones.
                    failures++;
                    await Task.Delay(Backoff(failures), clock, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (IsGone(e))
            {
                KubernetesLog.Gone(logger, Name, ResourceVersion);
                ResourceVersion = null;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Any failure (network, API server, an unexpected answer) retries with backoff: an informer never stops
                // while the process runs, or its kind would silently go stale.
                failures++;
                var delay = Backoff(failures);
                KubernetesLog.WatchFailed(logger, Name, delay.TotalSeconds, e.Message);
                await Task.Delay(delay, clock, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private void Publish(Dictionary<(string, string), ManifestObject> objects, Dictionary<(string, string), ManifestProblem> problems)
    {
        _objects = objects;
        Objects = objects.Values.ToArray();
        Problems = problems.Values.ToArray();
        foreach (var changed in _changed)
        {
            changed();
        }
    }

    private void Apply(Dictionary<(string, string), ManifestObject> objects, Dictionary<(string, string), ManifestProblem> problems, WatchEventType type, JsonObject obj)
    {
        var ns = obj["metadata"]?["namespace"]?.GetValue<string>() ?? ObjectMeta.DefaultNamespace;
        var name = obj["metadata"]?["name"]?.GetValue<string>() ?? "";
        var key = (ns, name);
        foreach (var observe in _observers)
        {
            observe(obj);
        }

        objects.Remove(key);
        problems.Remove(key);
        if (type == WatchEventType.Deleted)
        {
            return;
        }

        var read = ManifestReader.Read(obj.ToJsonString(), $"kubernetes {source.Kind} {ns}/{name}");
        if (read.Objects is [var single])
        {
            objects[key] = single;
        }
        else if (read.Problems.Count > 0)
        {
            problems[key] = read.Problems[0];
        }
    }

    /// <summary>1 s, 2 s, 4 s … up to 30 s, each with ±20% jitter so replicas do not retry in step.</summary>
    internal static TimeSpan Backoff(int failures)
    {
        var seconds = Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Min(failures - 1, 5)));
        return TimeSpan.FromSeconds(seconds * (0.8 + (Random.Shared.NextDouble() * 0.4)));
    }

    private static bool IsGone(Exception e) => e switch
    {
        KubernetesException { Status.Code: 410 } => true,
        HttpOperationException { Response.StatusCode: HttpStatusCode.Gone } => true,
        _ => false,
    };
}
