using Microsoft.Extensions.Time.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>The status writes' client-side rate limit, on a fake clock.</summary>
public sealed class TokenBucketTests
{
    [Test]
    public async Task Take_BurstAtOnce_ThenOnePerInterval()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket(qps: 2, burst: 2, clock);

        await bucket.TakeAsync(CancellationToken.None);
        await bucket.TakeAsync(CancellationToken.None);
        var third = bucket.TakeAsync(CancellationToken.None).AsTask();
        var fourth = bucket.TakeAsync(CancellationToken.None).AsTask();
        Assert.That((third.IsCompleted, bucket.Waiting), Is.EqualTo((false, 2)), "the burst is spent");

        clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.That(third.IsCompleted, Is.False, "a token takes 500 ms at 2 per second");
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await third.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(fourth.IsCompleted, Is.False, "callers are served in order, one per token");
        clock.Advance(TimeSpan.FromMilliseconds(500));
        await fourth.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(bucket.Waiting, Is.Zero);
    }

    [Test]
    public async Task Take_Cancelled_GivesItsTokenBack()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket(qps: 1, burst: 1, clock);
        await bucket.TakeAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = bucket.TakeAsync(cancel.Token).AsTask();
        await cancel.CancelAsync();
        Assert.That(async () => await cancelled, Throws.InstanceOf<OperationCanceledException>());

        // Had the cancelled caller kept its reservation, the next would wait 2 s.
        var next = bucket.TakeAsync(CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromSeconds(1));
        await next.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [TestCase(0, 10, 4, "StatusQps")]
    [TestCase(double.NaN, 10, 4, "StatusQps")]
    [TestCase(5, 0, 4, "StatusBurst")]
    [TestCase(5, 10, 0, "StatusConcurrency")]
    [TestCase(5, 10, 65, "StatusConcurrency")]
    public void Options_OutOfRange_NamesTheSetting(double qps, int burst, int concurrency, string setting)
    {
        var problems = new KubernetesStatusOptions { StatusQps = qps, StatusBurst = burst, StatusConcurrency = concurrency }.Validate().ToArray();
        Assert.That(problems, Has.Length.EqualTo(1).And.Some.StartsWith(setting + " must"));
    }
}
