namespace XdsControlPlane.Server.Previews;

/// <summary>Why the authorization service decided as it did: a fixed set, so the metrics' <c>reason</c> label stays bounded.</summary>
internal static class PreviewReasons
{
    /// <summary>A public preview: open to everyone.</summary>
    public const string Public = "public";

    /// <summary>A CORS preflight let through without a token.</summary>
    public const string CorsPreflight = "cors-preflight";

    /// <summary>A valid bearer token.</summary>
    public const string Token = "token";

    /// <summary>A valid first-visit <c>?token=</c>: redirected with a session cookie.</summary>
    public const string FirstVisit = "first-visit";

    /// <summary>A valid session cookie.</summary>
    public const string Session = "session";

    /// <summary>The request carries no preview context (a gateway misconfigured, or a call not from it).</summary>
    public const string NotAPreview = "not-a-preview";

    /// <summary>A path or header over the size limits.</summary>
    public const string Oversized = "oversized";

    /// <summary>A token without a token's shape.</summary>
    public const string MalformedToken = "malformed-token";

    /// <summary>No token and no session cookie.</summary>
    public const string NoCredentials = "no-credentials";

    /// <summary>A well-formed token no grant backs (never minted, or its grant was deleted).</summary>
    public const string UnknownToken = "unknown-token";

    /// <summary>The grant expired.</summary>
    public const string Expired = "expired";

    /// <summary>A session cookie that is malformed or whose signature does not verify.</summary>
    public const string SessionInvalid = "session-invalid";

    /// <summary>A session cookie made for another preview host.</summary>
    public const string SessionOtherHost = "session-other-host";

    /// <summary>A session cookie past its expiry.</summary>
    public const string SessionExpired = "session-expired";

    /// <summary>A session cookie whose grant was deleted (<c>sandboxctl preview revoke</c>).</summary>
    public const string Revoked = "revoked";

    /// <summary>The session-signing key is not available yet (its Secret not read yet).</summary>
    public const string SessionKeyUnavailable = "session-key-unavailable";

    /// <summary>The grant is for another namespace.</summary>
    public const string OtherNamespace = "other-namespace";

    /// <summary>The grant is for another owner or another preview of it.</summary>
    public const string NotCovered = "not-covered";

    /// <summary>A personal preview and a grant whose creator nobody recorded (no admission webhook, or manifests mode).</summary>
    public const string NoRecordedCreator = "no-recorded-creator";

    /// <summary>A personal preview whose owner is not in force (gone, or not read yet).</summary>
    public const string OwnerUnknown = "owner-unknown";

    /// <summary>A personal preview whose owner has no recorded creator.</summary>
    public const string OwnerHasNoCreator = "owner-has-no-creator";

    /// <summary>A personal preview and a grant created by someone else than its owner, not an admin.</summary>
    public const string NotOwner = "not-owner";

    /// <summary>The service failed to decide (a bug); the request is refused.</summary>
    public const string Error = "error";
}
