namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Failures in a row of one kind of call (status writes, one informer's list/watch), so an outage is said once when it
/// starts and once when it ends, not once per retry: <see cref="Failed"/> tells whether a failure opens a streak, and
/// <see cref="Succeeded"/> how many failures the streak that a success ends had. Thread-safe.
/// </summary>
internal sealed class FailureStreak
{
    private int _failures;

    /// <summary>Counts a failure; true when it is the first since the last success.</summary>
    public bool Failed() => Interlocked.Increment(ref _failures) == 1;

    /// <summary>Counts a success; the failures in a row it ends (0 when none).</summary>
    public int Succeeded() => Volatile.Read(ref _failures) == 0 ? 0 : Interlocked.Exchange(ref _failures, 0);
}
