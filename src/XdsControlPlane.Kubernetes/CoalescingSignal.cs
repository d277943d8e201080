using System.Threading.Channels;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// A wake-up for one waiting loop that coalesces: any number of <see cref="Notify"/> calls before the loop next waits
/// wake it once (a bounded channel of capacity 1 that drops further writes). Thread-safe; <see cref="Notify"/> never blocks.
/// </summary>
public sealed class CoalescingSignal
{
    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    /// <summary>Wakes the loop, now or when it next waits.</summary>
    public void Notify() => _signals.Writer.TryWrite(true);

    /// <summary>
    /// Waits until notified (consuming the notification) or until <paramref name="resync"/> has passed on
    /// <paramref name="clock"/> (<see cref="Timeout.InfiniteTimeSpan"/>: no resync).
    /// </summary>
    /// <returns>True when notified, false when the resync time passed.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async Task<bool> WaitAsync(TimeSpan resync, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (_signals.Reader.TryRead(out _))
        {
            return true;
        }

        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var notified = _signals.Reader.WaitToReadAsync(waiting.Token).AsTask();
        var elapsed = Task.Delay(resync, clock, waiting.Token);
        await Task.WhenAny(notified, elapsed).ConfigureAwait(false);
        await waiting.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(notified, elapsed).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
        return _signals.Reader.TryRead(out _);
    }
}
