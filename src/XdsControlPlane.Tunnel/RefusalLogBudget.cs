namespace XdsControlPlane.Tunnel;

/// <summary>
/// How many refusals of each <see cref="AgentRefusal"/> are logged: at most <see cref="PerWindow"/> in each
/// <see cref="Window"/>, so a client that opens streams in a loop costs the log a few lines, not one per stream (the
/// refusals metric counts every one). The first line of a new window is preceded by the count of those left out.
/// </summary>
internal sealed class RefusalLogBudget(TimeProvider clock)
{
    /// <summary>Refusals of one reason logged per window.</summary>
    public const int PerWindow = 10;

    /// <summary>The window.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly Budget[] _budgets = [.. Enum.GetValues<AgentRefusal>().Select(_ => new Budget())];

    /// <summary>
    /// Whether a refusal for <paramref name="reason"/> is logged now; <paramref name="leftOut"/> is how many of that
    /// reason were not logged before it (to be said first).
    /// </summary>
    public bool TryTake(AgentRefusal reason, out int leftOut)
    {
        var now = clock.GetUtcNow();
        lock (_gate)
        {
            var budget = _budgets[(int)reason];
            if (now - budget.Start >= Window)
            {
                (budget.Start, budget.Logged) = (now, 0);
            }

            if (budget.Logged >= PerWindow)
            {
                budget.LeftOut++;
                leftOut = 0;
                return false;
            }

            budget.Logged++;
            (leftOut, budget.LeftOut) = (budget.LeftOut, 0);
            return true;
        }
    }

    private sealed class Budget
    {
        public DateTimeOffset Start { get; set; } = DateTimeOffset.MinValue;

        public int Logged { get; set; }

        public int LeftOut { get; set; }
    }
}
