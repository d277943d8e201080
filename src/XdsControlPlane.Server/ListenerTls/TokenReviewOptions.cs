using System.Globalization;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>Whether xDS clients' ServiceAccount tokens are checked with TokenReview.</summary>
public enum TokenReviewMode
{
    /// <summary>Tokens are not read; identity is the client certificate's only.</summary>
    Off,

    /// <summary>A token a client sends is reviewed and held against its node; a client without one (and without a client certificate) is served anonymously.</summary>
    Optional,

    /// <summary>Every xDS stream must carry an identity: a ServiceAccount token, or a client certificate.</summary>
    Required,
}

/// <summary>
/// ServiceAccount tokens on the xDS listener (configuration section <c>Xds:TokenReview</c>, Kubernetes mode only): a
/// client sends <c>authorization: Bearer &lt;token&gt;</c> metadata, the server asks the API server
/// (<c>authentication.k8s.io/v1</c> TokenReview) whom it names, for <see cref="Audience"/>, and holds the ServiceAccount
/// against the node's role as it holds a client certificate's SPIFFE ID. Verdicts are cached by the token's SHA-256.
/// </summary>
public sealed class TokenReviewOptions
{
    /// <summary>The audience when none is configured: what a projected ServiceAccount token for this control plane names.</summary>
    public const string DefaultAudience = "sandboxctl-xds";

    /// <summary>The longest token accepted, in bytes (a projected ServiceAccount token is about 1 KB).</summary>
    public const int MaxTokenBytes = 8192;

    /// <summary>Whether tokens are checked (default off).</summary>
    public TokenReviewMode Mode { get; set; } = TokenReviewMode.Off;

    /// <summary>The audience tokens must be issued for (<c>--xds-token-audience</c>); the API server checks it and must name it in <c>status.audiences</c>.</summary>
    public string Audience { get; set; } = DefaultAudience;

    /// <summary>How long an authenticated verdict is reused, at most (never past the token's own expiry).</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a refused token's verdict is reused (so a client retrying a bad token costs the API server one review per interval).</summary>
    public TimeSpan RefusedCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many verdicts are kept; the oldest go first.</summary>
    public int CacheSize { get; set; } = 10_000;

    /// <summary>How many TokenReviews may be in flight to the API server at once.</summary>
    public int MaxConcurrentReviews { get; set; } = 8;

    /// <summary>How many streams may wait for a review at once; more are refused with UNAVAILABLE.</summary>
    public int MaxWaitingReviews { get; set; } = 1000;

    /// <summary>How long a review may take, waiting for a slot included, before the stream is refused with UNAVAILABLE.</summary>
    public TimeSpan ReviewTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>At most one log line about failing reviews per this interval (the rest are counted in it).</summary>
    public TimeSpan FailureLogInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Whether tokens are checked.</summary>
    public bool Enabled => Mode != TokenReviewMode.Off;

    /// <summary>The problems with these settings; empty when valid. Token review needs the API server: <paramref name="kubernetes"/> mode only.</summary>
    public IEnumerable<string> Validate(bool kubernetes)
    {
        const string Key = "Xds:TokenReview";
        if (!Enum.IsDefined(Mode))
        {
            yield return $"{Key}:Mode (--xds-token-review) must be Off, Optional or Required, got '{Mode}'.";
            yield break;
        }

        if (Enabled && !kubernetes)
        {
            yield return $"{Key}:Mode (--xds-token-review) applies with --kubernetes only: ServiceAccount tokens are checked by the API server's TokenReview, and manifests mode has none.";
        }

        if (string.IsNullOrWhiteSpace(Audience) || Audience.Length > 256 || Audience.Any(char.IsControl))
        {
            yield return $"{Key}:Audience (--xds-token-audience) must be 1 to 256 printable characters, got {Audience?.Length ?? 0} characters.";
        }

        foreach (var (interval, name) in new[] { (CacheTtl, nameof(CacheTtl)), (RefusedCacheTtl, nameof(RefusedCacheTtl)), (ReviewTimeout, nameof(ReviewTimeout)), (FailureLogInterval, nameof(FailureLogInterval)) })
        {
            if (interval < TimeSpan.Zero || interval > TimeSpan.FromHours(1) || (interval == TimeSpan.Zero && name is nameof(ReviewTimeout) or nameof(FailureLogInterval)))
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"{Key}:{name} must be between 0 and 1h (ReviewTimeout and FailureLogInterval above 0), got {interval}.");
            }
        }

        foreach (var (value, name, max) in new[] { (CacheSize, nameof(CacheSize), 1_000_000), (MaxConcurrentReviews, nameof(MaxConcurrentReviews), 256), (MaxWaitingReviews, nameof(MaxWaitingReviews), 100_000) })
        {
            if (value < 1 || value > max)
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"{Key}:{name} must be between 1 and {max}, got {value}.");
            }
        }
    }
}
