using System.Globalization;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// The verdict on an xDS client's ServiceAccount token: the API server's TokenReview for the configured audience, held
/// to a <c>system:serviceaccount:NS:SA</c> user and mapped to <c>spiffe://&lt;trust-domain&gt;/ns/NS/sa/SA</c>. Verdicts are
/// cached by the token's SHA-256 (authenticated ones for <see cref="TokenReviewOptions.CacheTtl"/> but never past the
/// token's expiry, refused ones for <see cref="TokenReviewOptions.RefusedCacheTtl"/>; failures not at all); streams
/// presenting the same token wait for one review; at most <see cref="TokenReviewOptions.MaxConcurrentReviews"/> reviews
/// run at once and <see cref="TokenReviewOptions.MaxWaitingReviews"/> wait. A failing API server is logged once per
/// <see cref="TokenReviewOptions.FailureLogInterval"/>. The token is never logged, kept or echoed. Thread-safe.
/// </summary>
internal sealed class ServiceAccountTokenVerifier : IDisposable
{
    private readonly ITokenReviewer _reviewer;
    private readonly TokenReviewOptions _options;
    private readonly string _trustDomain;
    private readonly TimeProvider _clock;
    private readonly NodeIdentityMetrics _metrics;
    private readonly ILogger<ServiceAccountTokenVerifier> _logger;
    private readonly Lock _gate = new();
    private readonly TokenVerdictCache _cache;
    private readonly Dictionary<string, Task<TokenVerdict>> _inFlight = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _stopping = new();
    private DateTimeOffset _failureLoggedAt = DateTimeOffset.MinValue;
    private int _failuresUnlogged;
    private int _failuresInRow;

    public ServiceAccountTokenVerifier(ITokenReviewer reviewer, TokenReviewOptions options, string trustDomain, TimeProvider clock, NodeIdentityMetrics metrics, ILogger<ServiceAccountTokenVerifier> logger)
    {
        _reviewer = reviewer;
        _options = options;
        _trustDomain = trustDomain;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        _cache = new TokenVerdictCache(options.CacheSize);
        _slots = new SemaphoreSlim(options.MaxConcurrentReviews, options.MaxConcurrentReviews);
    }

    /// <summary>The verdict on <paramref name="token"/> (already checked for shape and size by <see cref="ServiceAccountToken.FromMetadata"/>).</summary>
    public async Task<TokenVerdict> VerifyAsync(string token, CancellationToken cancellationToken)
    {
        var hash = ServiceAccountToken.Hash(token);
        Task<TokenVerdict>? review = null;
        TokenVerdict? known = null;
        lock (_gate)
        {
            if (_cache.Get(hash, _clock.GetUtcNow()) is { } cached)
            {
                known = cached;
            }
            else if (!_inFlight.TryGetValue(hash, out review) && _inFlight.Count < _options.MaxWaitingReviews)
            {
                review = ReviewAsync(hash, token);
                _inFlight[hash] = review;
            }
        }

        if (known is not null)
        {
            _metrics.Reviewed("cached");
            return known;
        }

        if (review is null)
        {
            var busy = TokenVerdict.Unavailable(string.Create(CultureInfo.InvariantCulture, $"could not be reviewed: {_options.MaxWaitingReviews} reviews are already waiting for the API server (Xds:TokenReview:MaxWaitingReviews); retry"));
            Failed(busy.Detail);
            _metrics.Reviewed("failed");
            return busy;
        }

        return await review.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends the reviews in flight (their streams get UNAVAILABLE). The semaphore and the token source are not disposed:
    /// a review finishing after this still releases its slot and links its timeout, and neither holds an OS handle
    /// (no wait handle is ever asked of the semaphore).
    /// </summary>
    public void Dispose() => _stopping.Cancel();

    private async Task<TokenVerdict> ReviewAsync(string hash, string token)
    {
        // Leave the caller's lock before the first await's continuation can need it.
        await Task.Yield();
        TokenVerdict verdict;
        using var timeout = new CancellationTokenSource(_options.ReviewTimeout, _clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
        try
        {
            await _slots.WaitAsync(linked.Token).ConfigureAwait(false);
            TokenReviewAnswer answer;
            try
            {
                answer = await _reviewer.ReviewAsync(token, _options.Audience, linked.Token).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }

            verdict = Judge(answer, token);
            Answered();
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            verdict = TokenVerdict.Unavailable(_stopping.IsCancellationRequested
                ? "could not be reviewed: the server is stopping; retry"
                : string.Create(CultureInfo.InvariantCulture, $"could not be reviewed: the API server did not answer the TokenReview within {_options.ReviewTimeout.TotalSeconds:0.#} s; retry"));
            Failed(verdict.Detail);
        }
        catch (TokenReviewFailedException e)
        {
            verdict = TokenVerdict.Unavailable($"could not be reviewed: {ServiceAccountToken.Scrub(e.Reason, token)}; retry");
            Failed(verdict.Detail);
        }

        lock (_gate)
        {
            _inFlight.Remove(hash);
            if (verdict.Kind != TokenVerdictKind.Unavailable && Expiry(verdict, token) is { } expires && expires > _clock.GetUtcNow())
            {
                _cache.Put(hash, verdict, expires);
            }
        }

        _metrics.Reviewed(verdict.Kind switch
        {
            TokenVerdictKind.Authenticated => "authenticated",
            TokenVerdictKind.Refused => "refused",
            _ => "failed",
        });
        return verdict;
    }

    /// <summary>The API server's answer held to what a node identity needs: authenticated, for our audience, a ServiceAccount.</summary>
    private TokenVerdict Judge(TokenReviewAnswer answer, string token)
    {
        if (!answer.Authenticated)
        {
            var error = ServiceAccountToken.Scrub(answer.Error, token);
            return TokenVerdict.Refused(TokenVerdict.Invalid, $"the API server did not authenticate{(error.Length == 0 ? "" : $" ({error})")}");
        }

        if (!answer.Audiences.Contains(_options.Audience, StringComparer.Ordinal))
        {
            // An empty status.audiences means the API server's own audience: a token for the API server, not for us.
            return TokenVerdict.Refused(TokenVerdict.Invalid, $"is not for the audience {_options.Audience} (Xds:TokenReview:Audience, --xds-token-audience); mint it with that audience (a projected ServiceAccount token)");
        }

        return ServiceAccountToken.IdentityOf(answer.Username, _trustDomain) is { } identity
            ? TokenVerdict.Of(identity)
            : TokenVerdict.Refused(TokenVerdict.NotServiceAccount, $"authenticates '{ServiceAccountToken.Scrub(answer.Username, token)}', not a ServiceAccount (system:serviceaccount:<namespace>:<name>)");
    }

    /// <summary>Until when <paramref name="verdict"/> is reused: an authenticated one never past the token's expiry.</summary>
    private DateTimeOffset? Expiry(TokenVerdict verdict, string token)
    {
        var now = _clock.GetUtcNow();
        if (verdict.Kind == TokenVerdictKind.Refused)
        {
            return now + _options.RefusedCacheTtl;
        }

        var cap = now + _options.CacheTtl;
        return ServiceAccountToken.ExpiresAt(token) is { } expires && expires < cap ? expires : cap;
    }

    private void Failed(string detail)
    {
        int unlogged;
        lock (_gate)
        {
            _failuresInRow++;
            var now = _clock.GetUtcNow();
            if (now - _failureLoggedAt < _options.FailureLogInterval)
            {
                _failuresUnlogged++;
                return;
            }

            (_failureLoggedAt, unlogged, _failuresUnlogged) = (now, _failuresUnlogged, 0);
        }

        TokenReviewLog.ReviewFailing(_logger, detail, unlogged, _options.FailureLogInterval.TotalSeconds);
    }

    private void Answered()
    {
        int failures;
        lock (_gate)
        {
            if (_failuresInRow == 0)
            {
                return;
            }

            (failures, _failuresInRow, _failuresUnlogged, _failureLoggedAt) = (_failuresInRow, 0, 0, DateTimeOffset.MinValue);
        }

        TokenReviewLog.ReviewAnswering(_logger, failures);
    }
}
