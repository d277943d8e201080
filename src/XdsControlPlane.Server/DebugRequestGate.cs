namespace XdsControlPlane.Server;

/// <summary>
/// Bounds how many <c>/debug</c> requests run at once: each streams a whole snapshot, which on a large configuration
/// is tens of megabytes of JSON and a core's worth of work, so a burst of them must not take the process's memory
/// and CPU from xDS and the health probes. Those over the limit are refused at once (429) rather than queued.
/// </summary>
internal sealed class DebugRequestGate(int limit)
{
    /// <summary>How many <c>/debug</c> requests may run at once by default.</summary>
    public const int DefaultLimit = 2;

    /// <summary>What a refused request is told to wait before it retries.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    private int _running;

    public int Limit { get; } = limit;

    /// <summary>Takes a slot if one is free; dispose the result to give it back. <see langword="null"/> when all are taken.</summary>
    public IDisposable? TryEnter()
    {
        if (Interlocked.Increment(ref _running) > Limit)
        {
            Interlocked.Decrement(ref _running);
            return null;
        }

        return new Slot(this);
    }

    private sealed class Slot(DebugRequestGate gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref gate._running);
            }
        }
    }
}
