namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Delays after repeated failures: <c>first × 2^(failures − 1)</c> up to a cap, each scaled by a random factor between
/// a lowest and a highest one so that clients failing together do not retry in step. The one backoff rule of the
/// control plane's connections: the informers' list/watch retries (1 s … 30 s, ±20%), the work queues' reconcile
/// retries (no jitter), and the same shape fits the agent's reconnects (250 ms … 10 s, between half and all).
/// </summary>
public sealed class ExponentialBackoff
{
    private readonly TimeSpan _first;
    private readonly TimeSpan _cap;
    private readonly double _lowestFactor;
    private readonly double _highestFactor;
    private readonly Random? _random;

    /// <summary>A backoff without jitter: the same delays every time.</summary>
    /// <param name="first">The delay after the first failure.</param>
    /// <param name="cap">The longest delay.</param>
    public ExponentialBackoff(TimeSpan first, TimeSpan cap)
    {
        _first = first;
        _cap = cap;
        _lowestFactor = _highestFactor = 1;
    }

    /// <summary>A backoff whose delays are scaled by a factor drawn from <paramref name="random"/> between <paramref name="lowestFactor"/> and <paramref name="highestFactor"/>.</summary>
    /// <param name="first">The delay after the first failure, before jitter.</param>
    /// <param name="cap">The longest delay, before jitter.</param>
    /// <param name="lowestFactor">The smallest factor (0.8 for −20%).</param>
    /// <param name="highestFactor">The largest factor (1.2 for +20%).</param>
    /// <param name="random">
    /// Where the jitter comes from: seeded in tests, so the delays replay. Drawn from by one caller at a time (an
    /// informer's loop, a reconnect loop), unless it is thread-safe (<see cref="Random.Shared"/>).
    /// </param>
    public ExponentialBackoff(TimeSpan first, TimeSpan cap, double lowestFactor, double highestFactor, Random random)
        : this(first, cap)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(lowestFactor);
        ArgumentOutOfRangeException.ThrowIfLessThan(highestFactor, lowestFactor);
        ArgumentNullException.ThrowIfNull(random);
        _lowestFactor = lowestFactor;
        _highestFactor = highestFactor;
        _random = random;
    }

    /// <summary>The delay after <paramref name="failures"/> failures in a row (1 for the first).</summary>
    public TimeSpan Delay(int failures)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failures, 1);
        var ticks = Math.Min(_cap.Ticks, _first.Ticks * Math.Pow(2, Math.Min(failures - 1, 30)));
        var factor = _random is null ? 1 : _lowestFactor + (_random.NextDouble() * (_highestFactor - _lowestFactor));
        return TimeSpan.FromTicks((long)(ticks * factor));
    }
}
