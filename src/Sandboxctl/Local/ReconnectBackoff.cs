namespace Sandboxctl.Local;

/// <summary>
/// The delays between reconnect attempts: exponential from <see cref="First"/> (doubling per attempt) up to
/// <see cref="Cap"/>, each with jitter (between half and all of it), so many agents that lost the same replica do not
/// come back in step.
/// </summary>
internal sealed class ReconnectBackoff(Random random)
{
    /// <summary>The base delay of the first attempt.</summary>
    public static readonly TimeSpan First = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest delay.</summary>
    public static readonly TimeSpan Cap = TimeSpan.FromSeconds(10);

    /// <summary>The delay before attempt <paramref name="attempt"/> (1 for the first).</summary>
    public TimeSpan Delay(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var exponential = First.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 16));
        var ceiling = Math.Min(exponential, Cap.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (random.NextDouble() * 0.5)));
    }
}
