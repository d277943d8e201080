using Polly;
using Polly.Retry;

namespace Sandboxctl;

/// <summary>
/// The one rule for waiting between attempts in sandboxctl (the agent's reconnects, Describe, port-forward dials and pod
/// re-discovery): exponential from a first delay (doubling per attempt) up to a cap, each with jitter (between half and
/// all of it) so many clients that lost the same server do not come back in step. The jitter comes from the
/// <see cref="Random"/> given, so a test can replay it. Plain retries run it through Polly (<see cref="Retry"/>).
/// </summary>
internal sealed class RetryBackoff(TimeSpan first, TimeSpan cap, Random random)
{
    /// <summary>The base delay of the agent's first reconnect.</summary>
    public static readonly TimeSpan ReconnectFirst = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest delay between the agent's reconnects.</summary>
    public static readonly TimeSpan ReconnectCap = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();

    /// <summary>The backoff of the agent's reconnects (and its Describe): from 250 ms up to 10 s.</summary>
    public static RetryBackoff Reconnect(Random random) => new(ReconnectFirst, ReconnectCap, random);

    /// <summary>The delay before attempt <paramref name="attempt"/> (1 for the first).</summary>
    public TimeSpan Delay(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var exponential = first.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 16));
        var ceiling = Math.Min(exponential, cap.TotalMilliseconds);
        double jitter;
        lock (_gate)
        {
            // Retries of many connections share one backoff; Random is not thread-safe.
            jitter = random.NextDouble();
        }

        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (jitter * 0.5)));
    }

    /// <summary>A Polly pipeline that retries what <paramref name="handle"/> accepts up to <paramref name="maxRetryAttempts"/> times, waiting <see cref="Delay"/> between.</summary>
    public ResiliencePipeline Retry(PredicateBuilder<object> handle, int maxRetryAttempts) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = handle,
            MaxRetryAttempts = maxRetryAttempts,
            DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(Delay(args.AttemptNumber + 1)),
        })
        .Build();
}
