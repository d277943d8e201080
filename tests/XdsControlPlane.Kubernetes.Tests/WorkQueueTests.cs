using System.Collections.Concurrent;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>The controllers' work queue: de-duplication, one worker per key, bounded concurrency, backoff.</summary>
public sealed class WorkQueueTests
{
    /// <summary>Metrics of the queues under test, in a registry of their own (not the process-wide one).</summary>
    private static readonly ControllerMetrics Metrics = new(Prometheus.Metrics.WithCustomRegistry(Prometheus.Metrics.NewCustomRegistry()));

    [Test]
    public async Task KeyAddedWhileProcessed_IsNotProcessedTwiceAtOnce_ButOnceMoreAfterwards()
    {
        using var queue = new WorkQueue<string>("test-serial", TimeProvider.System, Metrics);
        using var stop = new CancellationTokenSource();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = 0;
        var maxRunning = 0;
        var runs = 0;
        var worker = queue.RunAsync(4, async (key, ct) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref maxRunning, now);
            if (Interlocked.Increment(ref runs) == 1)
            {
                await release.Task.WaitAsync(ct);
            }

            Interlocked.Decrement(ref running);
        }, stop.Token);

        queue.Add("shop/a");
        await Eventually.WaitAsync(() => Volatile.Read(ref running) == 1, "the first run to start");
        queue.Add("shop/a");
        queue.Add("shop/a");   // de-duplicated with the one before
        Assert.That(queue.Depth, Is.Zero, "held back while the key is processed");

        release.SetResult();
        await Eventually.WaitAsync(() => Volatile.Read(ref runs) == 2 && Volatile.Read(ref running) == 0, "the second run");
        Assert.That(maxRunning, Is.EqualTo(1));

        await stop.CancelAsync();
        await worker;
        Assert.That(runs, Is.EqualTo(2), "three adds during one run make one more run");
    }

    [Test]
    public async Task Workers_BoundHowManyKeysAreProcessedAtOnce()
    {
        using var queue = new WorkQueue<int>("test-bound", TimeProvider.System, Metrics);
        using var stop = new CancellationTokenSource();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = 0;
        var maxRunning = 0;
        var done = new ConcurrentBag<int>();
        var worker = queue.RunAsync(2, async (key, ct) =>
        {
            InterlockedMax(ref maxRunning, Interlocked.Increment(ref running));
            await release.Task.WaitAsync(ct);
            Interlocked.Decrement(ref running);
            done.Add(key);
        }, stop.Token);

        for (var i = 0; i < 6; i++)
        {
            queue.Add(i);
        }

        await Eventually.WaitAsync(() => Volatile.Read(ref running) == 2, "two workers busy");
        Assert.That(queue.Depth, Is.EqualTo(4));
        release.SetResult();
        await Eventually.WaitAsync(() => done.Count == 6, "every key");
        await stop.CancelAsync();
        await worker;
        Assert.That(maxRunning, Is.EqualTo(2));
    }

    [Test]
    public async Task AddAfter_KeepsOnlyTheEarliestPendingDelayOfAKey()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var queue = new WorkQueue<string>("test-after", clock, Metrics);
        using var stop = new CancellationTokenSource();
        var runs = 0;
        var worker = queue.RunAsync(1, (_, _) =>
        {
            Interlocked.Increment(ref runs);
            return Task.CompletedTask;
        }, stop.Token);

        var start = clock.GetUtcNow();
        queue.AddAfter("shop/a", TimeSpan.FromSeconds(10));
        queue.AddAfter("shop/a", TimeSpan.FromSeconds(5));    // earlier: replaces the 10 s one
        queue.AddAfter("shop/a", TimeSpan.FromSeconds(20));   // later: dropped
        Assert.That(queue.DueTime("shop/a"), Is.EqualTo(start + TimeSpan.FromSeconds(5)), "one pending delay, the earliest");

        // After 4 s the 5 s delay is still the one pending, and nothing is queued or running.
        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.That((queue.DueTime("shop/a"), queue.IsIdle, Volatile.Read(ref runs)), Is.EqualTo(((DateTimeOffset?)(start + TimeSpan.FromSeconds(5)), true, 0)));

        clock.Advance(TimeSpan.FromSeconds(1));
        await Eventually.WaitAsync(() => Volatile.Read(ref runs) == 1, "the 5 s delay to queue the key");
        clock.Advance(TimeSpan.FromSeconds(30));
        queue.Add("shop/marker");
        await Eventually.WaitAsync(() => Volatile.Read(ref runs) == 2, "the marker key");

        await stop.CancelAsync();
        await worker;
        Assert.That(runs, Is.EqualTo(2), "the replaced 10 s and the dropped 20 s delays never fire");
    }

    [Test]
    public void Failures_BackOffExponentially_UntilForgotten()
    {
        using var queue = new WorkQueue<string>("test-backoff", TimeProvider.System, Metrics, baseDelay: TimeSpan.FromSeconds(1), maxDelay: TimeSpan.FromSeconds(5));

        var delays = Enumerable.Range(0, 5).Select(_ => queue.AddRateLimited("shop/a").TotalSeconds).ToArray();
        var other = queue.AddRateLimited("shop/b").TotalSeconds;
        queue.Forget("shop/a");

        Assert.Multiple(() =>
        {
            Assert.That(delays, Is.EqualTo(new[] { 1.0, 2, 4, 5, 5 }), "doubling, capped");
            Assert.That(other, Is.EqualTo(1.0), "per key");
            Assert.That(queue.AddRateLimited("shop/a").TotalSeconds, Is.EqualTo(1.0), "reset after a success");
        });
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

}
