using XdsControlPlane.Model;
using XdsControlPlane.Server.Webhook;
using XdsControlPlane.Sources;

namespace XdsControlPlane.Server.Previews;

/// <summary>What the authorization service answers.</summary>
internal enum PreviewOutcome
{
    /// <summary>Let the request through.</summary>
    Allow,

    /// <summary>A first visit with a valid <c>?token=</c>: 302 to the path without it, setting the session cookie.</summary>
    Redirect,

    /// <summary>401: no usable credential; the page says how to get one.</summary>
    Unauthenticated,

    /// <summary>403: the credential is known, and does not open this preview.</summary>
    Forbidden,
}

/// <summary>One decision.</summary>
/// <param name="Outcome">What is answered.</param>
/// <param name="Reason">Why (<see cref="PreviewReasons"/>).</param>
/// <param name="Grant">The grant that decided, when one did (the access log's subject).</param>
/// <param name="Cookie">For <see cref="PreviewOutcome.Redirect"/>: the session cookie's value and when it ends.</param>
/// <param name="StripAuthorization">The request's <c>authorization</c> carried a preview token: not passed upstream.</param>
internal sealed record PreviewDecision(PreviewOutcome Outcome, string Reason, PreviewGrant? Grant = null, (string Value, DateTimeOffset Expires)? Cookie = null, bool StripAuthorization = false);

/// <summary>
/// Decides a <see cref="PreviewCheck"/> from the preview's context, the grants in force and the owners in force. Public
/// previews open; a CORS preflight passes unless <see cref="PreviewAccessOptions.CheckPreflight"/>; otherwise a
/// credential — first-visit <c>?token=</c>, bearer token, session cookie, in that order — must lead to a live grant in
/// the preview's namespace covering its owner (and the preview, when the grant is narrowed to one); for a personal
/// preview that grant's creator must also be the owner's creator or have been in an admin group — which is known only
/// when <paramref name="creatorsRecorded"/> (the cluster, with this server's admission webhook on): in manifests mode, or
/// without the webhook, the annotations are whatever the author wrote, so personal previews are refused. Pure but for
/// reading the stores.
/// </summary>
internal sealed class PreviewAccessDecider(PreviewGrantStore grants, RoutingInputsStore inputs, PreviewAccessOptions options, bool creatorsRecorded)
{
    private readonly HashSet<string> _adminGroups = new(options.AdminGroups, StringComparer.Ordinal);

    /// <summary>The decision on <paramref name="check"/> at <paramref name="now"/>, signing sessions with <paramref name="key"/> (null while there is none).</summary>
    public PreviewDecision Decide(PreviewCheck check, DateTimeOffset now, byte[]? key)
    {
        ArgumentNullException.ThrowIfNull(check);
        var preview = check.Preview;
        if (preview.Access == Preview.Public)
        {
            return new PreviewDecision(PreviewOutcome.Allow, PreviewReasons.Public);
        }

        if (check.CorsPreflight && !options.CheckPreflight)
        {
            return new PreviewDecision(PreviewOutcome.Allow, PreviewReasons.CorsPreflight);
        }

        if (check.QueryToken is { } first)
        {
            var decision = ByToken(first, preview, now);
            if (decision.Outcome != PreviewOutcome.Allow)
            {
                return decision;
            }

            if (key is null)
            {
                return decision with { Outcome = PreviewOutcome.Unauthenticated, Reason = PreviewReasons.SessionKeyUnavailable };
            }

            var grant = decision.Grant!;
            var expires = Min(grant.Expiry!.Value, now + options.SessionMaxAge);
            var session = new PreviewSession(grant.Metadata.Namespace, grant.Metadata.Name, preview.Host, expires);
            return decision with { Outcome = PreviewOutcome.Redirect, Reason = PreviewReasons.FirstVisit, Cookie = (PreviewSessions.Sign(session, key), expires) };
        }

        if (check.BearerToken is { } bearer)
        {
            return ByToken(bearer, preview, now) with { StripAuthorization = true };
        }

        if (check.SessionCookies.Count == 0)
        {
            return new PreviewDecision(PreviewOutcome.Unauthenticated, PreviewReasons.NoCredentials);
        }

        if (key is null)
        {
            return new PreviewDecision(PreviewOutcome.Unauthenticated, PreviewReasons.SessionKeyUnavailable);
        }

        // Several cookies of the name (a stale one beside a fresh one): the first that opens wins, else the first refusal.
        PreviewDecision? refusal = null;
        foreach (var value in check.SessionCookies)
        {
            var decision = BySession(value, preview, now, key);
            if (decision.Outcome == PreviewOutcome.Allow)
            {
                return decision;
            }

            refusal ??= decision;
        }

        return refusal!;
    }

    private PreviewDecision ByToken(string token, PreviewIdentity preview, DateTimeOffset now)
    {
        var candidates = grants.FindByHash(PreviewToken.Hash(token));
        if (candidates.IsEmpty)
        {
            return new PreviewDecision(PreviewOutcome.Unauthenticated, PreviewReasons.UnknownToken);
        }

        // One token backs one grant unless someone copied a hash: prefer one that opens, else report the first refusal.
        PreviewDecision? refusal = null;
        foreach (var grant in candidates)
        {
            var decision = ByGrant(grant, preview, now, PreviewReasons.Token);
            if (decision.Outcome == PreviewOutcome.Allow)
            {
                return decision;
            }

            refusal ??= decision;
        }

        return refusal!;
    }

    private PreviewDecision BySession(string value, PreviewIdentity preview, DateTimeOffset now, byte[] key)
    {
        if (PreviewSessions.Verify(value, key) is not { } session)
        {
            return new PreviewDecision(PreviewOutcome.Unauthenticated, PreviewReasons.SessionInvalid);
        }

        if (!string.Equals(session.Host, preview.Host, StringComparison.Ordinal))
        {
            return new PreviewDecision(PreviewOutcome.Unauthenticated, PreviewReasons.SessionOtherHost);
        }

        if (session.Expires <= now)
        {
            return new PreviewDecision(PreviewOutcome.Unauthenticated, PreviewReasons.SessionExpired);
        }

        return grants.Find(session.Namespace, session.Grant) is { } grant
            ? ByGrant(grant, preview, now, PreviewReasons.Session)
            : new PreviewDecision(PreviewOutcome.Unauthenticated, PreviewReasons.Revoked);
    }

    /// <summary>Whether <paramref name="grant"/> opens <paramref name="preview"/> now.</summary>
    private PreviewDecision ByGrant(PreviewGrant grant, PreviewIdentity preview, DateTimeOffset now, string allowedReason)
    {
        if (grant.Expiry is not { } expiry || expiry <= now)
        {
            return new PreviewDecision(PreviewOutcome.Unauthenticated, PreviewReasons.Expired, grant);
        }

        if (grant.Metadata.Namespace != preview.Namespace)
        {
            return new PreviewDecision(PreviewOutcome.Forbidden, PreviewReasons.OtherNamespace, grant);
        }

        var owner = preview.OwnerKind == Sandbox.KindName ? grant.Spec.Sandbox : grant.Spec.LocalWorkload;
        if (owner != preview.Owner || (grant.Spec.Preview is { } narrowed && (narrowed.Service != preview.Service || narrowed.Port != preview.Port)))
        {
            return new PreviewDecision(PreviewOutcome.Forbidden, PreviewReasons.NotCovered, grant);
        }

        return preview.Access == Preview.Personal && Personal(grant, preview) is { } refused
            ? new PreviewDecision(PreviewOutcome.Forbidden, refused, grant)
            : new PreviewDecision(PreviewOutcome.Allow, allowedReason, grant);
    }

    /// <summary>Why <paramref name="grant"/> does not open the personal <paramref name="preview"/>, or null when it does.</summary>
    private string? Personal(PreviewGrant grant, PreviewIdentity preview)
    {
        if (!creatorsRecorded || Annotation(grant.Metadata, CreatorReviewer.CreatedBy) is not { } creator)
        {
            return PreviewReasons.NoRecordedCreator;
        }

        if (Annotation(grant.Metadata, CreatorReviewer.CreatedByGroups) is { } groups && groups.Split(',').Any(_adminGroups.Contains))
        {
            return null;
        }

        var current = inputs.Current;
        ObjectMeta? ownerMeta = preview.OwnerKind == Sandbox.KindName
            ? current?.FindSandbox(preview.Namespace, preview.Owner)?.Metadata
            : current?.FindLocalWorkload(preview.Namespace, preview.Owner)?.Metadata;
        if (ownerMeta is null)
        {
            return PreviewReasons.OwnerUnknown;
        }

        if (Annotation(ownerMeta, CreatorReviewer.CreatedBy) is not { } ownerCreator)
        {
            return PreviewReasons.OwnerHasNoCreator;
        }

        // The same name, and the same uid where both were recorded (a user deleted and made again under the name is not the owner).
        var sameUid = Annotation(grant.Metadata, CreatorReviewer.CreatedByUid) is not { } uid
            || Annotation(ownerMeta, CreatorReviewer.CreatedByUid) is not { } ownerUid
            || uid == ownerUid;
        return creator == ownerCreator && sameUid ? null : PreviewReasons.NotOwner;
    }

    private static string? Annotation(ObjectMeta metadata, string key) =>
        metadata.Annotations.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
