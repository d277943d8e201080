using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// The objects whose status is to be judged, in a <see cref="WorkQueue{TKey}"/> (<c>controller="status"</c> in the
/// metrics): an object queued again before its turn is judged once (batched: the newest desired status replaces the one
/// a queued key stood for, as it is worked out when the key's turn comes), never by two workers at once, by a bounded
/// number of workers. Tracks up to which pipeline pass every queued object has been judged (<see cref="Judged"/>).
/// </summary>
internal sealed class StatusWriteQueue : IDisposable
{
    private readonly WorkQueue<ResourceKey> _queue;
    private readonly Lock _gate = new();
    private long _queuedFor;
    private long _judged;

    /// <summary>A queue recording its depth in <paramref name="metrics"/>.</summary>
    public StatusWriteQueue(TimeProvider clock, ControllerMetrics metrics) =>
        _queue = new WorkQueue<ResourceKey>(Name, clock, metrics, idle: Idle);

    /// <summary>The name of the queue in the metrics.</summary>
    public const string Name = "status";

    /// <summary>The pipeline pass up to which every object queued has been judged (and written, when it needed it).</summary>
    public long Judged => Interlocked.Read(ref _judged);

    /// <summary>Objects waiting for their turn.</summary>
    public int Depth => _queue.Depth;

    /// <summary>Queues <paramref name="keys"/> as of the pipeline's pass <paramref name="noted"/>.</summary>
    public void Add(IEnumerable<ResourceKey> keys, long noted)
    {
        lock (_gate)
        {
            foreach (var key in keys)
            {
                _queue.Add(key);
            }

            _queuedFor = noted;
            if (_queue.IsIdle)
            {
                Interlocked.Exchange(ref _judged, noted);
            }
        }
    }

    /// <summary>Runs <paramref name="workers"/> workers until cancelled; <paramref name="judge"/> must not throw.</summary>
    public Task RunAsync(int workers, Func<ResourceKey, CancellationToken, Task> judge, CancellationToken cancellationToken) =>
        _queue.RunAsync(workers, judge, cancellationToken);

    private void Idle()
    {
        lock (_gate)
        {
            if (_queue.IsIdle)
            {
                Interlocked.Exchange(ref _judged, _queuedFor);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _queue.Dispose();
}
