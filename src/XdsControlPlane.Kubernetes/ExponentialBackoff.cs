namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Delays after repeated failures: <c>first × 2^(failures − 1)</c>, capped, then scaled by a random factor between
/// <c>1 − jitter</c> and <c>1 + jitter</c> so that replicas failing together do not retry in step. The one backoff rule
/// of the Kubernetes integration: the informers' list/watch retries and the work queues' reconcile retries.
/// </summary>
internal sealed class ExponentialBackoff
{
    private readonly TimeSpan _first;
    private readonly TimeSpan _cap;
    private readonly double _jitter;
    private readonly Random? _random;

    /// <summary>A backoff without jitter: the same delays every time.</summary>
    public ExponentialBackoff(TimeSpan first, TimeSpan cap)
        : this(first, cap, 0, null)
    {
    }

    /// <summary>A backoff whose delays vary by ±<paramref name="jitter"/> (0.2 is ±20%), drawn from <paramref name="random"/> (seeded in tests).</summary>
    /// <param name="first">The delay after the first failure.</param>
    /// <param name="cap">The longest delay before jitter.</param>
    /// <param name="jitter">How far a delay may stray from its exponential value, as a fraction of it (0 to 1).</param>
    /// <param name="random">
    /// Where the jitter comes from. Used by one caller at a time (an informer's loop), or thread-safe (<see cref="Random.Shared"/>).
    /// </param>
    public ExponentialBackoff(TimeSpan first, TimeSpan cap, double jitter, Random? random)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(jitter);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(jitter, 1);
        if (jitter > 0)
        {
            ArgumentNullException.ThrowIfNull(random);
        }

        _first = first;
        _cap = cap;
        _jitter = jitter;
        _random = jitter > 0 ? random : null;
    }

    /// <summary>The delay after <paramref name="failures"/> failures in a row (1 for the first).</summary>
    public TimeSpan Delay(int failures)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failures, 1);
        var ticks = Math.Min(_cap.Ticks, _first.Ticks * Math.Pow(2, Math.Min(failures - 1, 30)));
        var factor = _random is null ? 1 : 1 - _jitter + (_random.NextDouble() * 2 * _jitter);
        return TimeSpan.FromTicks((long)(ticks * factor));
    }
}
