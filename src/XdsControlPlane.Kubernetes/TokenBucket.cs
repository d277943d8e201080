namespace XdsControlPlane.Kubernetes;

/// <summary>
/// A client-side rate limit in the style of client-go's (<c>flowcontrol.NewTokenBucketRateLimiter</c>, built on
/// <c>golang.org/x/time/rate</c>): a bucket of <c>burst</c> tokens refilled at <c>qps</c> per second, one token per
/// request; a caller that finds it empty reserves the next token and waits for it, so callers are served in the order
/// they asked. Lazy — the tokens are worked out from the time elapsed when asked, no timer runs while nobody waits —
/// and driven by a <see cref="TimeProvider"/>, so tests advance a fake clock instead of waiting. (The token bucket of
/// <c>System.Threading.RateLimiting</c> takes no <see cref="TimeProvider"/> and refills on a timer of its own:
/// dotnet/runtime issues 106447 and 118112.) Thread-safe.
/// </summary>
internal sealed class TokenBucket
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _clock;
    private readonly double _qps;
    private readonly int _burst;
    private double _tokens;
    private long _at;
    private int _waiting;

    /// <summary>A full bucket of <paramref name="burst"/> tokens refilled at <paramref name="qps"/> per second on <paramref name="clock"/>.</summary>
    public TokenBucket(double qps, int burst, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(qps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burst);
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _qps = qps;
        _burst = burst;
        _tokens = burst;
        _at = clock.GetTimestamp();
    }

    /// <summary>Callers waiting for their token now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Takes a token: at once when the bucket holds one, else after the time the reserved token takes to come.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (the reserved token is given back).</exception>
    public async ValueTask TakeAsync(CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_gate)
        {
            Refill();
            _tokens--;
            if (_tokens >= 0)
            {
                return;
            }

            wait = TimeSpan.FromSeconds(-_tokens / _qps);
        }

        Interlocked.Increment(ref _waiting);
        try
        {
            await Task.Delay(wait, _clock, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                Refill();
                _tokens = Math.Min(_burst, _tokens + 1);
            }

            throw;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private void Refill()
    {
        var now = _clock.GetTimestamp();
        var elapsed = _clock.GetElapsedTime(_at, now);
        _at = now;
        _tokens = Math.Min(_burst, _tokens + (elapsed.TotalSeconds * _qps));
    }
}
