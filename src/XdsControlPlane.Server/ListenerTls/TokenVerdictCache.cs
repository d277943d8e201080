namespace XdsControlPlane.Server.ListenerTls;

/// <summary>What a token is worth: an identity, a refusal (the token's fault), or no answer (the API server's fault, retryable).</summary>
internal enum TokenVerdictKind
{
    /// <summary>The API server authenticated a ServiceAccount token for the audience.</summary>
    Authenticated,

    /// <summary>The token does not prove a ServiceAccount for the audience: refused with PERMISSION_DENIED.</summary>
    Refused,

    /// <summary>The token could not be reviewed: refused with UNAVAILABLE, never cached.</summary>
    Unavailable,
}

/// <summary>The verdict on one token.</summary>
/// <param name="Kind">What it is worth.</param>
/// <param name="Identity">The ServiceAccount as a SPIFFE ID of the trust domain, when authenticated.</param>
/// <param name="Reason">The refusal reason (a metric's label): <c>token_invalid</c>, <c>token_not_service_account</c>, <c>token_review_failed</c>; empty when authenticated.</param>
/// <param name="Detail">The end of the sentence "a ServiceAccount token that …", never quoting the token.</param>
internal sealed record TokenVerdict(TokenVerdictKind Kind, SpiffeId? Identity, string Reason, string Detail)
{
    /// <summary>The reason of a token the API server did not authenticate for the audience, or that is not a token at all.</summary>
    public const string Invalid = "token_invalid";

    /// <summary>The reason of a token that authenticates a user who is not a ServiceAccount.</summary>
    public const string NotServiceAccount = "token_not_service_account";

    /// <summary>The reason of a token that could not be reviewed.</summary>
    public const string ReviewFailed = "token_review_failed";

    /// <summary>An authenticated ServiceAccount.</summary>
    public static TokenVerdict Of(SpiffeId identity) => new(TokenVerdictKind.Authenticated, identity, "", "");

    /// <summary>A refusal for <paramref name="reason"/>.</summary>
    public static TokenVerdict Refused(string reason, string detail) => new(TokenVerdictKind.Refused, null, reason, detail);

    /// <summary>No verdict: the review failed.</summary>
    public static TokenVerdict Unavailable(string detail) => new(TokenVerdictKind.Unavailable, null, ReviewFailed, detail);
}

/// <summary>
/// Verdicts by token hash, each until its own expiry, at most a fixed number: when full, the oldest goes. Not
/// thread-safe (its owner holds a lock); the token itself is never a key.
/// </summary>
internal sealed class TokenVerdictCache(int capacity)
{
    private readonly Dictionary<string, (TokenVerdict Verdict, DateTimeOffset Expires, LinkedListNode<string> Age)> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _byAge = new();

    /// <summary>How many verdicts are held (expired ones not yet looked up included).</summary>
    public int Count => _entries.Count;

    /// <summary>The verdict for <paramref name="hash"/> still valid at <paramref name="now"/>, or null.</summary>
    public TokenVerdict? Get(string hash, DateTimeOffset now)
    {
        if (!_entries.TryGetValue(hash, out var entry))
        {
            return null;
        }

        if (now < entry.Expires)
        {
            return entry.Verdict;
        }

        Remove(hash);
        return null;
    }

    /// <summary>Keeps <paramref name="verdict"/> for <paramref name="hash"/> until <paramref name="expires"/>, making room by dropping the oldest.</summary>
    public void Put(string hash, TokenVerdict verdict, DateTimeOffset expires)
    {
        Remove(hash);
        while (_entries.Count >= capacity && _byAge.First is { } oldest)
        {
            Remove(oldest.Value);
        }

        _entries[hash] = (verdict, expires, _byAge.AddLast(hash));
    }

    private void Remove(string hash)
    {
        if (_entries.Remove(hash, out var entry))
        {
            _byAge.Remove(entry.Age);
        }
    }
}
