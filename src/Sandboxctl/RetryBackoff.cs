using Polly;
using Polly.Retry;
using XdsControlPlane.Kubernetes;

namespace Sandboxctl;

/// <summary>
/// How sandboxctl waits between attempts (the agent's reconnects, Describe, port-forward dials and pod re-discovery):
/// the control plane's one backoff rule (<see cref="ExponentialBackoff"/>: doubling from a first delay up to a cap)
/// with jitter between half and all of each delay, so many clients that lost the same server do not come back in step.
/// The jitter comes from the <see cref="Random"/> given, so a test can replay it; several connections may share one
/// instance. Plain retries run it through Polly (<see cref="Retry"/>).
/// </summary>
internal sealed class RetryBackoff(TimeSpan first, TimeSpan cap, Random random)
{
    /// <summary>The base delay of the agent's first reconnect.</summary>
    public static readonly TimeSpan ReconnectFirst = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest delay between the agent's reconnects.</summary>
    public static readonly TimeSpan ReconnectCap = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly ExponentialBackoff _rule = new(first, cap, lowestFactor: 0.5, highestFactor: 1.0, random);

    /// <summary>The backoff of the agent's reconnects (and its Describe): from <paramref name="first"/> (default 250 ms) up to 10 s (or <paramref name="first"/> when longer).</summary>
    public static RetryBackoff Reconnect(Random random, TimeSpan? first = null) =>
        new(first ?? ReconnectFirst, first > ReconnectCap ? first.Value : ReconnectCap, random);

    /// <summary>The delay before attempt <paramref name="attempt"/> (1 for the first).</summary>
    public TimeSpan Delay(int attempt)
    {
        lock (_gate)
        {
            // Retries of many connections share one backoff; Random is not thread-safe.
            return _rule.Delay(attempt);
        }
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
