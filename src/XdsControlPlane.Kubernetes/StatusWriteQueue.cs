using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// The objects whose status is to be judged, in a <see cref="WorkQueue{TKey}"/> (<c>controller="status"</c> in the
/// metrics): an object queued again before its turn is judged once (batched: the newest desired status replaces the one
/// a queued key stood for, as it is worked out when the key's turn comes), never by two workers at once, by a bounded
/// number of workers. A pass over every object (after the first publication, after this replica became leader) waits
/// in a backlog that feeds the queue a few keys at a time, so an object that changed meanwhile is judged next, not after
/// thousands of others. Tracks up to which pipeline pass every queued object has been judged (<see cref="Judged"/>).
/// </summary>
internal sealed class StatusWriteQueue : IDisposable
{
    private readonly WorkQueue<ResourceKey> _queue;
    private readonly ControllerMetrics _metrics;
    private readonly int _feed;
    private readonly Lock _gate = new();
    private Queue<ResourceKey> _backlog = new();
    private long _queuedFor;
    private long _judged;

    /// <summary>A queue for <paramref name="workers"/> workers, recording its depth in <paramref name="metrics"/>.</summary>
    public StatusWriteQueue(TimeProvider clock, ControllerMetrics metrics, int workers)
    {
        _metrics = metrics;
        _feed = 2 * workers;
        _queue = new WorkQueue<ResourceKey>(Name, clock, metrics, idle: Idle);
    }

    /// <summary>The name of the queue in the metrics.</summary>
    public const string Name = "status";

    /// <summary>The pipeline pass up to which every object queued has been judged (and written, when it needed it).</summary>
    public long Judged => Interlocked.Read(ref _judged);

    /// <summary>Objects waiting for their turn, the backlog included.</summary>
    public int Depth
    {
        get
        {
            lock (_gate)
            {
                return _queue.Depth + _backlog.Count;
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="changed"/> as of the pipeline's pass <paramref name="noted"/>, and, when
    /// <paramref name="all"/> is given, makes it the backlog (replacing an older one: it names every object again).
    /// </summary>
    public void Add(IEnumerable<ResourceKey> changed, IEnumerable<ResourceKey>? all, long noted)
    {
        lock (_gate)
        {
            foreach (var key in changed)
            {
                _queue.Add(key);
            }

            if (all is not null)
            {
                _backlog = new Queue<ResourceKey>(all);
            }

            _queuedFor = noted;
            FeedOrSettle();
        }
    }

    /// <summary>
    /// A write of <paramref name="key"/> failed: queued again after its backoff (50 ms doubling, at most 5 min), or after
    /// <paramref name="retryAfter"/> when the API server asked for longer; returns the wait.
    /// </summary>
    public TimeSpan Retry(ResourceKey key, TimeSpan? retryAfter) => _queue.AddRateLimited(key, retryAfter);

    /// <summary>A write of <paramref name="key"/> went through (or was not needed): its backoff starts over.</summary>
    public void Succeeded(ResourceKey key) => _queue.Forget(key);

    /// <summary>Runs <paramref name="workers"/> workers until cancelled; <paramref name="judge"/> must not throw.</summary>
    public Task RunAsync(int workers, Func<ResourceKey, CancellationToken, Task> judge, CancellationToken cancellationToken) =>
        _queue.RunAsync(workers, judge, cancellationToken);

    private void Idle()
    {
        lock (_gate)
        {
            FeedOrSettle();
        }
    }

    /// <summary>Moves a few backlog keys to the queue while it runs short; when nothing is left at all, every pass noted is judged.</summary>
    private void FeedOrSettle()
    {
        while (_backlog.Count > 0 && _queue.Depth < _feed)
        {
            _queue.Add(_backlog.Dequeue());
        }

        _metrics.StatusBacklog(_backlog.Count);
        if (_backlog.Count == 0 && _queue.IsIdle)
        {
            Interlocked.Exchange(ref _judged, _queuedFor);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _queue.Dispose();
}
