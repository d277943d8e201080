using System.Globalization;
using Envoy.Service.Auth.V3;
using XdsControlPlane.Model;

namespace XdsControlPlane.Server.Previews;

/// <summary>The preview a check is for, from the <c>context_extensions</c> translation set on its virtual host (<see cref="PreviewAuthorizationContext"/>).</summary>
/// <param name="OwnerKind"><see cref="Sandbox.KindName"/> or <see cref="LocalWorkload.KindName"/>.</param>
/// <param name="Namespace">The owner's namespace.</param>
/// <param name="Owner">The owner's name.</param>
/// <param name="Service">The previewed Service as the owner names it.</param>
/// <param name="Port">The previewed port.</param>
/// <param name="Access"><see cref="Preview.Public"/>, <see cref="Preview.Shared"/> or <see cref="Preview.Personal"/>.</param>
/// <param name="Host">The preview's host name.</param>
internal sealed record PreviewIdentity(string OwnerKind, string Namespace, string Owner, string Service, int Port, string Access, string Host);

/// <summary>
/// What the authorization service reads of one <see cref="CheckRequest"/>, shaped as Envoy's <c>ext_authz</c> filter
/// sends it (header keys in lower case, <c>path</c> with its query): the preview, the method, the path, and the
/// credentials — a <c>?token=</c>, an <c>Authorization: Bearer sbxp_…</c> (other bearer tokens are the application's
/// and are left alone), the session cookie — each bounded in size. Pure.
/// </summary>
internal sealed record PreviewCheck(
    PreviewIdentity Preview,
    string Method,
    string Path,
    string? QueryToken,
    string? BearerToken,
    IReadOnlyList<string> SessionCookies,
    bool CorsPreflight,
    bool WantsJson)
{
    /// <summary>The session cookie's name: <c>__Host-</c>, so browsers keep it to the one host, with <c>Secure</c> and <c>Path=/</c>, set by no one else.</summary>
    public const string CookieName = "__Host-sandboxctl-preview";

    /// <summary>The longest path (with its query) read; a longer one is refused.</summary>
    public const int MaxPathLength = 8192;

    /// <summary>The longest header value read (<c>authorization</c>, <c>cookie</c>, <c>accept</c>); a longer one counts as absent, or, for a cookie, refused.</summary>
    public const int MaxHeaderLength = 8192;

    /// <summary>The longest session cookie value read.</summary>
    public const int MaxCookieLength = 1024;

    /// <summary>The most session cookies of this name read from one request.</summary>
    private const int MaxSessionCookies = 4;

    /// <summary>The longest context extension value read.</summary>
    private const int MaxContextLength = 512;

    /// <summary>
    /// Reads <paramref name="request"/>: the check, or the problem (a reason for the access log and the metrics) that makes
    /// it unanswerable — no preview context, a path too long, a malformed token — found before any lookup.
    /// </summary>
    public static (PreviewCheck? Check, string? Problem) Read(CheckRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var http = request.Attributes?.Request?.Http;
        var context = request.Attributes?.ContextExtensions;
        if (http is null || context is null || Identity(context) is not { } preview)
        {
            return (null, PreviewReasons.NotAPreview);
        }

        var headers = Headers(http);
        var path = http.Path is { Length: > 0 } p ? p : headers.GetValueOrDefault(":path") ?? "/";
        if (path.Length > MaxPathLength)
        {
            return (new PreviewCheck(preview, http.Method, "/", null, null, [], false, false), PreviewReasons.Oversized);
        }

        var method = http.Method is { Length: > 0 } m ? m : headers.GetValueOrDefault(":method") ?? "";
        var (queryToken, queryProblem) = ReadQueryToken(path);
        var (bearer, bearerProblem) = ReadBearer(headers.GetValueOrDefault("authorization"));
        var (cookies, cookieProblem) = ReadCookies(headers.GetValueOrDefault("cookie"));
        var check = new PreviewCheck(
            preview,
            method,
            path,
            queryToken,
            bearer,
            cookies,
            CorsPreflight: method == "OPTIONS" && headers.ContainsKey("origin") && headers.ContainsKey("access-control-request-method"),
            WantsJson: PrefersJson(headers.GetValueOrDefault("accept")));
        return (check, queryProblem ?? bearerProblem ?? cookieProblem);
    }

    /// <summary><see cref="Path"/> without the <c>token</c> query parameter (where the first visit is redirected to).</summary>
    public string PathWithoutToken()
    {
        var question = Path.IndexOf('?', StringComparison.Ordinal);
        if (question < 0)
        {
            return Path;
        }

        var rest = Path[(question + 1)..].Split('&').Where(p => !IsTokenParameter(p)).ToArray();
        return rest.Length == 0 ? Path[..question] : Path[..question] + "?" + string.Join('&', rest);
    }

    private static PreviewIdentity? Identity(Google.Protobuf.Collections.MapField<string, string> context)
    {
        string? Value(string key) => context.TryGetValue(key, out var v) && v is { Length: > 0 and <= MaxContextLength } ? v : null;
        var kind = Value(PreviewAuthorizationContext.OwnerKind);
        var ns = Value(PreviewAuthorizationContext.Namespace);
        var owner = Value(PreviewAuthorizationContext.OwnerName);
        var service = Value(PreviewAuthorizationContext.Service);
        var access = Value(PreviewAuthorizationContext.Access);
        var host = Value(PreviewAuthorizationContext.Host);
        return kind is Sandbox.KindName or LocalWorkload.KindName
            && ns is not null && owner is not null && service is not null && host is not null
            && access is XdsControlPlane.Model.Preview.Public or XdsControlPlane.Model.Preview.Shared or XdsControlPlane.Model.Preview.Personal
            && int.TryParse(Value(PreviewAuthorizationContext.Port), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535
            ? new PreviewIdentity(kind, ns, owner, service, port, access, host.ToLowerInvariant())
            : null;
    }

    /// <summary>The request's headers: the <c>headers</c> map, or <c>header_map</c> when Envoy sends raw headers; values longer than <see cref="MaxHeaderLength"/> are dropped.</summary>
    private static Dictionary<string, string> Headers(AttributeContext.Types.HttpRequest http)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in http.Headers)
        {
            if (value.Length <= MaxHeaderLength)
            {
                headers.TryAdd(key.ToLowerInvariant(), value);
            }
        }

        if (http.HeaderMap is { } map)
        {
            foreach (var header in map.Headers)
            {
                var value = header.RawValue.IsEmpty ? header.Value : header.RawValue.Length <= MaxHeaderLength ? header.RawValue.ToStringUtf8() : null;
                if (value is { Length: <= MaxHeaderLength })
                {
                    headers.TryAdd(header.Key.ToLowerInvariant(), value);
                }
            }
        }

        return headers;
    }

    private static bool IsTokenParameter(string parameter) =>
        parameter.StartsWith(PreviewToken.QueryParameter + "=", StringComparison.Ordinal) || parameter == PreviewToken.QueryParameter;

    /// <summary>The <c>token</c> query parameter (one, well formed), or the problem with it.</summary>
    private static (string? Token, string? Problem) ReadQueryToken(string path)
    {
        var question = path.IndexOf('?', StringComparison.Ordinal);
        if (question < 0)
        {
            return (null, null);
        }

        string? token = null;
        foreach (var parameter in path[(question + 1)..].Split('&'))
        {
            if (!IsTokenParameter(parameter))
            {
                continue;
            }

            if (token is not null)
            {
                return (null, PreviewReasons.MalformedToken);
            }

            token = parameter.Length > PreviewToken.QueryParameter.Length ? parameter[(PreviewToken.QueryParameter.Length + 1)..] : "";
        }

        return token is null ? (null, null) : PreviewToken.IsWellFormed(token) ? (token, null) : (null, PreviewReasons.MalformedToken);
    }

    /// <summary>A preview token in <c>Authorization: Bearer</c>; another scheme or a bearer token without the prefix is the application's.</summary>
    private static (string? Token, string? Problem) ReadBearer(string? authorization)
    {
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return (null, null);
        }

        var token = authorization[Scheme.Length..].Trim();
        return !token.StartsWith(PreviewToken.Prefix, StringComparison.Ordinal) ? (null, null)
            : PreviewToken.IsWellFormed(token) ? (token, null)
            : (null, PreviewReasons.MalformedToken);
    }

    /// <summary>The values of the session cookie (a few at most), or the problem when one is too long.</summary>
    private static (IReadOnlyList<string> Values, string? Problem) ReadCookies(string? header)
    {
        if (header is null)
        {
            return ([], null);
        }

        var values = new List<string>();
        foreach (var pair in header.Split(';'))
        {
            var cookie = pair.AsSpan().Trim();
            if (!cookie.StartsWith(CookieName + "=", StringComparison.Ordinal))
            {
                continue;
            }

            var value = cookie[(CookieName.Length + 1)..].ToString();
            if (value.Length > MaxCookieLength || values.Count == MaxSessionCookies)
            {
                return ([], PreviewReasons.SessionInvalid);
            }

            values.Add(value);
        }

        return (values, null);
    }

    /// <summary>Whether <paramref name="accept"/> ranks <c>application/json</c> above <c>text/html</c> (a script's fetch, not a browser's page load).</summary>
    internal static bool PrefersJson(string? accept)
    {
        if (accept is null)
        {
            return false;
        }

        double json = -1, html = -1;
        foreach (var range in accept.Split(',').Take(32))
        {
            var parts = range.Split(';');
            var type = parts[0].Trim();
            var q = 1.0;
            foreach (var parameter in parts.Skip(1))
            {
                var p = parameter.Trim();
                if (p.StartsWith("q=", StringComparison.Ordinal) && double.TryParse(p[2..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var parsed))
                {
                    q = parsed;
                }
            }

            if (type.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            {
                json = Math.Max(json, q);
            }
            else if (type.Equals("text/html", StringComparison.OrdinalIgnoreCase))
            {
                html = Math.Max(html, q);
            }
        }

        return json > 0 && json > html;
    }
}
