using System.Globalization;
using System.Net;
using System.Text.Json;
using Envoy.Config.Core.V3;
using Envoy.Service.Auth.V3;
using Envoy.Type.V3;
using XdsControlPlane.Model;

namespace XdsControlPlane.Server.Previews;

/// <summary>
/// Turns a <see cref="PreviewDecision"/> into the <see cref="CheckResponse"/> Envoy acts on: OK (dropping a preview
/// bearer token before the request goes upstream), a 302 that sets the session cookie, or a denial — 401 with a short
/// page saying how to get access (JSON when the client prefers it), 403 when the credential is known but not enough —
/// always <c>cache-control: no-store</c>. Pure.
/// </summary>
internal static class PreviewCheckResponses
{
    private const int OkCode = 0;
    private const int UnauthenticatedCode = 16;
    private const int PermissionDeniedCode = 7;

    /// <summary>The response to <paramref name="decision"/> on <paramref name="check"/> (null when the request could not be read), made at <paramref name="now"/>.</summary>
    public static CheckResponse For(PreviewDecision decision, PreviewCheck? check, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(decision);
        switch (decision.Outcome)
        {
            case PreviewOutcome.Allow:
                var ok = new OkHttpResponse();
                if (decision.StripAuthorization)
                {
                    ok.HeadersToRemove.Add("authorization");
                }

                return new CheckResponse { Status = new Google.Rpc.Status { Code = OkCode }, OkResponse = ok };
            case PreviewOutcome.Redirect:
                var (value, expires) = decision.Cookie!.Value;
                var maxAge = Math.Max(0, (long)(expires - now).TotalSeconds);
                var redirect = new DeniedHttpResponse { Status = new HttpStatus { Code = StatusCode.Found }, Body = "" };
                redirect.Headers.Add(Header("location", check!.PathWithoutToken()));
                redirect.Headers.Add(Header("set-cookie", $"{PreviewCheck.CookieName}={value}; Path=/; Max-Age={maxAge.ToString(CultureInfo.InvariantCulture)}; Secure; HttpOnly; SameSite=Lax"));
                redirect.Headers.Add(Header("cache-control", "no-store"));
                redirect.Headers.Add(Header("referrer-policy", "no-referrer"));
                return new CheckResponse { Status = new Google.Rpc.Status { Code = PermissionDeniedCode, Message = decision.Reason }, DeniedResponse = redirect };
            default:
                var unauthenticated = decision.Outcome == PreviewOutcome.Unauthenticated;
                var json = check?.WantsJson ?? false;
                var denied = new DeniedHttpResponse
                {
                    Status = new HttpStatus { Code = unauthenticated ? StatusCode.Unauthorized : StatusCode.Forbidden },
                    Body = json ? Json(decision, check) : Html(decision, check),
                };
                denied.Headers.Add(Header("content-type", json ? "application/json" : "text/html; charset=utf-8"));
                denied.Headers.Add(Header("cache-control", "no-store"));
                if (unauthenticated)
                {
                    denied.Headers.Add(Header("www-authenticate", "Bearer realm=\"sandboxctl-preview\""));
                }

                return new CheckResponse
                {
                    Status = new Google.Rpc.Status { Code = unauthenticated ? UnauthenticatedCode : PermissionDeniedCode, Message = decision.Reason },
                    DeniedResponse = denied,
                };
        }
    }

    /// <summary>What a person is told: why, and what to run.</summary>
    internal static string Explanation(PreviewDecision decision, PreviewCheck? check)
    {
        var preview = check?.Preview;
        var owner = preview is null ? "OWNER" : preview.OwnerKind == Sandbox.KindName ? preview.Owner : "--local-workload " + preview.Owner;
        var open = preview is null ? "sandboxctl preview open" : $"sandboxctl preview open {owner} -n {preview.Namespace}";
        return decision.Reason switch
        {
            PreviewReasons.NoCredentials => $"This preview is {preview?.Access}. Open it with a link from `{open}`, or ask its owner for a share link (`sandboxctl preview share`).",
            PreviewReasons.MalformedToken => $"The token in this request is not a preview token. Get a fresh link with `{open}`.",
            PreviewReasons.UnknownToken or PreviewReasons.Revoked => $"This link or session was revoked or never existed. Get a fresh link with `{open}`.",
            PreviewReasons.Expired or PreviewReasons.SessionExpired => $"This link or session has expired. Get a fresh link with `{open}`.",
            PreviewReasons.SessionInvalid or PreviewReasons.SessionOtherHost => $"Your session for this preview is not valid. Open it again with a link from `{open}`.",
            PreviewReasons.SessionKeyUnavailable => "The preview service is starting; try again in a moment.",
            PreviewReasons.Oversized => "The request is too large for the preview gate.",
            PreviewReasons.NotAPreview => "This host is not a preview the gateway knows.",
            PreviewReasons.OtherNamespace or PreviewReasons.NotCovered => $"Your link is for another preview. Get one for this preview with `{open}`.",
            PreviewReasons.NoRecordedCreator => "This preview is personal, and no one recorded who created your grant: the control plane's admission webhook was not running when it was made (or the server reads manifests, where there are no users). Personal previews need it; ask the owner to make the preview shared instead.",
            PreviewReasons.OwnerUnknown => "This preview is personal, and its owner is not known to the control plane (deleted, or not read yet).",
            PreviewReasons.OwnerHasNoCreator => "This preview is personal, and no one recorded who created its owner (it was made before the admission webhook ran); no one can open it. Make it shared, or create it again.",
            PreviewReasons.NotOwner => "This preview is personal: only its owner, or a member of a preview admin group, can open it. Ask the owner to share it (`sandboxctl preview share`).",
            _ => "Access to this preview was refused.",
        };
    }

    private static string Html(PreviewDecision decision, PreviewCheck? check)
    {
        var title = decision.Outcome == PreviewOutcome.Unauthenticated ? "Sign-in needed" : "Access refused";
        return "<!doctype html><html><head><meta charset=\"utf-8\"><title>" + title + "</title></head><body><h1>" + title + "</h1><p>"
            + WebUtility.HtmlEncode(Explanation(decision, check)) + "</p><p><small>reason: " + decision.Reason + "</small></p></body></html>\n";
    }

    private static string Json(PreviewDecision decision, PreviewCheck? check) =>
        JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["error"] = decision.Outcome == PreviewOutcome.Unauthenticated ? "unauthenticated" : "forbidden",
            ["reason"] = decision.Reason,
            ["message"] = Explanation(decision, check),
        }) + "\n";

    private static HeaderValueOption Header(string key, string value) =>
        new() { Header = new HeaderValue { Key = key, Value = value }, AppendAction = HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd };
}
