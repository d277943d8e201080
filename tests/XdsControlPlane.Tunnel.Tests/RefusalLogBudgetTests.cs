namespace XdsControlPlane.Tunnel.Tests;

/// <summary>The log budget of refusals: a few lines per reason and window, then the count of those left out.</summary>
public sealed class RefusalLogBudgetTests
{
    [Test]
    public void TryTake_BeyondTheWindowsBudget_LeftOutAndCountedOnTheNextWindowsFirstLine()
    {
        var clock = new SteppedClock();
        var budget = new RefusalLogBudget(clock);

        var first = Enumerable.Range(0, 25).Select(_ => budget.TryTake(AgentRefusal.ConnectionLimit, out _)).ToArray();
        var otherReason = budget.TryTake(AgentRefusal.BadHello, out var otherLeftOut);
        clock.Now += RefusalLogBudget.Window;
        var next = budget.TryTake(AgentRefusal.ConnectionLimit, out var leftOut);

        Assert.Multiple(() =>
        {
            Assert.That(first.Count(logged => logged), Is.EqualTo(RefusalLogBudget.PerWindow));
            Assert.That((otherReason, otherLeftOut), Is.EqualTo((true, 0)), "each reason has a budget of its own");
            Assert.That((next, leftOut), Is.EqualTo((true, 25 - RefusalLogBudget.PerWindow)));
        });
    }

    private sealed class SteppedClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
