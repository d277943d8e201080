namespace XdsControlPlane.Kubernetes;

/// <summary>
/// A controller work queue in the style of client-go's: each key is queued at most once however often it is added,
/// a key is never handed to two workers at once (added again while it is processed, it is queued once that ends),
/// failures requeue with per-key exponential backoff, and a fixed number of workers bounds concurrency.
/// </summary>
/// <typeparam name="TKey">What identifies one unit of work (namespace and name of an object).</typeparam>
internal sealed class WorkQueue<TKey> : IDisposable
    where TKey : notnull
{
    private readonly Lock _gate = new();
    private readonly Queue<TKey> _queue = new();
    private readonly HashSet<TKey> _dirty = [];
    private readonly HashSet<TKey> _processing = [];
    private readonly Dictionary<TKey, long> _queuedAt = [];
    private readonly Dictionary<TKey, int> _failures = [];
    private readonly Dictionary<TKey, (DateTimeOffset Due, CancellationTokenSource Cancel)> _waiting = [];
    private readonly SemaphoreSlim _available = new(0);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TimeProvider _clock;
    private readonly string _name;
    private readonly ControllerMetrics _metrics;
    private readonly ExponentialBackoff _backoff;
    private readonly Action? _idle;

    /// <summary>A queue named <paramref name="name"/> (the metrics' <c>controller</c> label).</summary>
    /// <param name="name">The controller the queue serves.</param>
    /// <param name="clock">Time, for delays and the time keys wait.</param>
    /// <param name="metrics">Where queue depth and wait times are recorded.</param>
    /// <param name="baseDelay">The delay after a key's first failure (50 ms when null); it doubles per failure.</param>
    /// <param name="maxDelay">The longest failure delay (five minutes when null).</param>
    /// <param name="idle">Called (outside the queue's lock) each time a worker finishes the last key queued or in progress.</param>
    public WorkQueue(string name, TimeProvider clock, ControllerMetrics metrics, TimeSpan? baseDelay = null, TimeSpan? maxDelay = null, Action? idle = null)
    {
        _idle = idle;
        _name = name;
        _clock = clock;
        _metrics = metrics;
        _backoff = new ExponentialBackoff(baseDelay ?? TimeSpan.FromMilliseconds(50), maxDelay ?? TimeSpan.FromMinutes(5));
    }

    /// <summary>Keys waiting to be processed.</summary>
    public int Depth
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>True when no key is queued or being processed (keys waiting for a delay do not count).</summary>
    public bool IsIdle
    {
        get
        {
            lock (_gate)
            {
                return _dirty.Count == 0 && _processing.Count == 0;
            }
        }
    }

    /// <summary>When <paramref name="key"/>'s pending delay ends, or null when it has none.</summary>
    public DateTimeOffset? DueTime(TKey key)
    {
        lock (_gate)
        {
            return _waiting.TryGetValue(key, out var pending) ? pending.Due : null;
        }
    }

    /// <summary>Queues <paramref name="key"/> unless it is already waiting.</summary>
    public void Add(TKey key)
    {
        lock (_gate)
        {
            if (!_dirty.Add(key))
            {
                return;
            }

            _queuedAt[key] = _clock.GetTimestamp();
            if (_processing.Contains(key))
            {
                return;   // queued again when its current processing is done
            }

            _queue.Enqueue(key);
            _metrics.QueueDepth(_name, _queue.Count);
        }

        _available.Release();
    }

    /// <summary>
    /// Queues <paramref name="key"/> after <paramref name="delay"/> (a TTL running out, a retry). Only the earliest
    /// pending delay of a key is kept: a controller that asks again on every reconcile holds one timer per key, not one
    /// per reconcile.
    /// </summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        var due = _clock.GetUtcNow() + delay;
        CancellationTokenSource cancel;
        lock (_gate)
        {
            if (_waiting.TryGetValue(key, out var pending))
            {
                if (pending.Due <= due)
                {
                    return;
                }

                pending.Cancel.Cancel();
            }

            cancel = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token);
            _waiting[key] = (due, cancel);
        }

        _ = AddLaterAsync(key, delay, cancel);
    }

    /// <summary>
    /// Queues <paramref name="key"/> after its failure backoff: base delay × 2^(failures − 1), capped — or after
    /// <paramref name="atLeast"/> when that is longer (the wait an API server asked for).
    /// </summary>
    public TimeSpan AddRateLimited(TKey key, TimeSpan? atLeast = null)
    {
        int failures;
        lock (_gate)
        {
            failures = _failures[key] = _failures.GetValueOrDefault(key) + 1;
        }

        var delay = _backoff.Delay(failures);
        if (atLeast > delay)
        {
            delay = atLeast.Value;
        }

        AddAfter(key, delay);
        return delay;
    }

    /// <summary>Resets <paramref name="key"/>'s failure backoff (after a success).</summary>
    public void Forget(TKey key)
    {
        lock (_gate)
        {
            _failures.Remove(key);
        }
    }

    /// <summary>Runs <paramref name="workers"/> workers until cancelled; each takes one key at a time.</summary>
    public Task RunAsync(int workers, Func<TKey, CancellationToken, Task> process, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(() => WorkAsync(process, cancellationToken), cancellationToken)));

    private async Task WorkAsync(Func<TKey, CancellationToken, Task> process, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            TKey key;
            lock (_gate)
            {
                key = _queue.Dequeue();
                _dirty.Remove(key);
                _processing.Add(key);
                _metrics.QueueDepth(_name, _queue.Count);
                if (_queuedAt.Remove(key, out var queuedAt))
                {
                    _metrics.QueueWaited(_name, _clock.GetElapsedTime(queuedAt));
                }
            }

            try
            {
                await process(key, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Done(key);
            }
        }
    }

    private void Done(TKey key)
    {
        bool requeued;
        bool idle;
        lock (_gate)
        {
            _processing.Remove(key);
            requeued = _dirty.Contains(key);
            if (requeued)
            {
                _queue.Enqueue(key);
                _metrics.QueueDepth(_name, _queue.Count);
            }

            idle = _dirty.Count == 0 && _processing.Count == 0;
        }

        if (requeued)
        {
            _available.Release();
        }

        if (idle)
        {
            _idle?.Invoke();
        }
    }

    private async Task AddLaterAsync(TKey key, TimeSpan delay, CancellationTokenSource cancel)
    {
        try
        {
            await Task.Delay(delay, _clock, cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            cancel.Dispose();   // replaced by an earlier delay, or shutting down
            return;
        }

        lock (_gate)
        {
            var current = _waiting.TryGetValue(key, out var pending) && ReferenceEquals(pending.Cancel, cancel);
            if (current)
            {
                _waiting.Remove(key);
            }

            cancel.Dispose();
            if (!current)
            {
                return;   // replaced by an earlier delay just as this one ran out
            }
        }

        Add(key);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _shutdown.Cancel();
        _shutdown.Dispose();
        _available.Dispose();
    }
}
