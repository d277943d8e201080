namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>The one backoff rule: doubling up to a cap, jitter within its factors, replayed by a seeded Random.</summary>
public sealed class ExponentialBackoffTests
{
    [TestCase(1, 250)]
    [TestCase(2, 500)]
    [TestCase(5, 4000)]
    [TestCase(6, 8000)]
    [TestCase(7, 10000)]
    [TestCase(64, 10000)]
    public void Delay_WithJitter_StaysBetweenItsFactorsOfTheCappedDoubling(int failures, double milliseconds)
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10), 0.5, 1.0, new Random(failures));

        var delays = Enumerable.Range(0, 200).Select(_ => backoff.Delay(failures).TotalMilliseconds).ToArray();

        Assert.That(delays, Is.All.InRange(milliseconds * 0.5, milliseconds));
    }

    [Test]
    public void Delay_WithTheSameSeed_ReplaysTheSameDelays()
    {
        var first = new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.8, 1.2, new Random(42));
        var second = new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0.8, 1.2, new Random(42));

        Assert.That(Enumerable.Range(1, 10).Select(second.Delay), Is.EqualTo(Enumerable.Range(1, 10).Select(first.Delay).ToArray()));
    }
}
