using Microsoft.Extensions.Time.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>The coalescing wake-up behind the event-driven status: many notifications, one wake; a resync when none comes.</summary>
public sealed class CoalescingSignalTests
{
    [Test]
    public async Task Notify_ABurstBeforeTheWait_WakesOnce()
    {
        var signal = new CoalescingSignal();
        var clock = new FakeTimeProvider();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 50; i++)
        {
            signal.Notify();
        }

        var first = await signal.WaitAsync(TimeSpan.FromMinutes(1), clock, timeout.Token);
        var second = signal.WaitAsync(TimeSpan.FromMinutes(1), clock, timeout.Token);
        Assert.That(second.IsCompleted, Is.False, "the burst was one wake-up");
        clock.Advance(TimeSpan.FromMinutes(1));
        var resynced = await second;

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.True);
            Assert.That(resynced, Is.False, "woken by the resync, not by a notification");
        });
    }

    [Test]
    public async Task Notify_WhileWaiting_WakesTheWaiter()
    {
        var signal = new CoalescingSignal();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var waiting = signal.WaitAsync(Timeout.InfiniteTimeSpan, new FakeTimeProvider(), timeout.Token);

        signal.Notify();

        Assert.That(await waiting, Is.True);
    }

    [Test]
    public void WaitAsync_Cancelled_Throws()
    {
        var signal = new CoalescingSignal();
        using var cancel = new CancellationTokenSource();
        var waiting = signal.WaitAsync(Timeout.InfiniteTimeSpan, TimeProvider.System, cancel.Token);

        cancel.Cancel();

        Assert.That(async () => await waiting, Throws.InstanceOf<OperationCanceledException>());
    }
}
