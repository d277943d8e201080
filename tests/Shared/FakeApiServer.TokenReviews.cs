using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace XdsControlPlane.Testing;

/// <summary>
/// TokenReviews (<c>authentication.k8s.io/v1</c>, create only) answered as a real API server answers them: the
/// TokenReview sent back (HTTP 201) with <c>status.authenticated</c>, <c>status.user</c> (a ServiceAccount's
/// <c>system:serviceaccount:NS:SA</c> with its groups and pod-bound extras), <c>status.audiences</c> (those of
/// <c>spec.audiences</c> the token is valid for; the API server's own audience when the spec names none) and, for a token it
/// does not authenticate, no user and <c>status.error</c>. Tokens are JWT-shaped (header.payload.signature, an
/// <c>exp</c> claim) and known only to this server: a token it did not issue, one it revoked, an expired one, or one
/// whose audiences do not meet the spec's are not authenticated.
/// </summary>
internal sealed partial class FakeApiServer
{
    public const string TokenReviews = "/apis/authentication.k8s.io/v1/tokenreviews";

    /// <summary>The API server's own audience: what a token without an explicit audience is for.</summary>
    public const string ApiServerAudience = "https://kubernetes.default.svc.cluster.local";

    private readonly Dictionary<string, IssuedToken> _tokens = new(StringComparer.Ordinal);

    /// <summary>While set, every TokenReview is answered with this HTTP status and a Status body (an API server failing, or RBAC refusing).</summary>
    public int? TokenReviewsFailWith { get; set; }

    private Task _heldTokenReviews = Task.CompletedTask;
    private int _reviewsInFlight;

    /// <summary>The most TokenReviews this server was answering at once.</summary>
    public int TokenReviewsPeak { get; private set; }

    /// <summary>TokenReviews are answered only once <paramref name="release"/> completes (an API server slow to answer).</summary>
    public void HoldTokenReviews(Task release)
    {
        lock (_gate)
        {
            _heldTokenReviews = release;
        }
    }

    /// <summary>Every token review so far: the audiences its spec named (the token is not kept here).</summary>
    public List<string[]> TokenReviewAudiences { get; } = [];

    /// <summary>A projected ServiceAccount token of <paramref name="ns"/>/<paramref name="serviceAccount"/> for <paramref name="audiences"/> (the API server's own when none), valid for <paramref name="lifetime"/> (1 h when null).</summary>
    public string IssueServiceAccountToken(string ns, string serviceAccount, string[]? audiences = null, TimeSpan? lifetime = null) =>
        Issue($"system:serviceaccount:{ns}:{serviceAccount}", ["system:serviceaccounts", $"system:serviceaccounts:{ns}", "system:authenticated"], audiences, lifetime, ns);

    /// <summary>A token that authenticates the user <paramref name="user"/> (an OIDC user, say: not a ServiceAccount) for <paramref name="audiences"/>.</summary>
    public string IssueUserToken(string user, string[]? audiences = null) => Issue(user, ["system:authenticated"], audiences, null, null);

    /// <summary>From now on <paramref name="token"/> is not authenticated (its Secret or pod deleted).</summary>
    public void Revoke(string token)
    {
        lock (_gate)
        {
            _tokens.Remove(token);
        }
    }

    private string Issue(string user, string[] groups, string[]? audiences, TimeSpan? lifetime, string? ns)
    {
        var expires = DateTimeOffset.UtcNow + (lifetime ?? TimeSpan.FromHours(1));
        var aud = audiences ?? [ApiServerAudience];
        var header = Base64Url.EncodeToString(Encoding.UTF8.GetBytes("""{"alg":"RS256","kid":"fake"}"""));
        var claims = new JsonObject
        {
            ["aud"] = new JsonArray([.. aud.Select(a => (JsonNode?)a)]),
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["iss"] = ApiServerAudience,
            ["sub"] = user,
        };
        if (ns is not null)
        {
            claims["kubernetes.io"] = new JsonObject { ["namespace"] = ns };
        }

        var token = $"{header}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claims.ToJsonString()))}.{Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(64))}";
        lock (_gate)
        {
            _tokens[token] = new IssuedToken(user, groups, aud, expires, ns is null ? null : $"{user.Split(':')[^1]}-7d9f8c-x2k4q");
        }

        return token;
    }

    partial void MapReviews(WebApplication app) =>
        app.MapPost(TokenReviews, async (HttpContext context) =>
        {
            if (TokenReviewsFailWith is { } code)
            {
                await WriteAsync(context, (code, Status(code, code == 503 ? "ServiceUnavailable" : "InternalError", "the fake API server fails TokenReviews")));
                return;
            }

            Task held;
            lock (_gate)
            {
                TokenReviewsPeak = Math.Max(TokenReviewsPeak, ++_reviewsInFlight);
                held = _heldTokenReviews;
            }

            try
            {
                await held.WaitAsync(context.RequestAborted);
            }
            finally
            {
                lock (_gate)
                {
                    _reviewsInFlight--;
                }
            }

            var review = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
            var token = (string?)review["spec"]?["token"] ?? "";
            var asked = review["spec"]?["audiences"] is JsonArray list ? list.Select(a => (string)a!).ToArray() : [];
            JsonObject status;
            lock (_gate)
            {
                TokenReviewAudiences.Add(asked);
                status = ReviewStatus(_tokens.GetValueOrDefault(token), asked.Length == 0 ? [ApiServerAudience] : asked);
            }

            // As a real API server does, the TokenReview comes back as sent (the token included), its status filled in.
            review["status"] = status;
            review["metadata"] ??= new JsonObject { ["creationTimestamp"] = null };
            await WriteAsync(context, (201, review));
        });

    private static JsonObject ReviewStatus(IssuedToken? issued, string[] asked)
    {
        if (issued is null || issued.Expires <= DateTimeOffset.UtcNow)
        {
            return new JsonObject { ["user"] = new JsonObject(), ["error"] = "[invalid bearer token, token lookup failed]" };
        }

        var audiences = issued.Audiences.Intersect(asked, StringComparer.Ordinal).ToArray();
        if (audiences.Length == 0)
        {
            return new JsonObject
            {
                ["user"] = new JsonObject(),
                ["error"] = $"[invalid bearer token, token audiences [{string.Join(" ", issued.Audiences.Select(a => $"\"{a}\""))}] is invalid for the target audiences [{string.Join(" ", asked.Select(a => $"\"{a}\""))}]]",
            };
        }

        var user = new JsonObject
        {
            ["username"] = issued.User,
            ["uid"] = Guid.NewGuid().ToString(),
            ["groups"] = new JsonArray([.. issued.Groups.Select(g => (JsonNode?)g)]),
        };
        if (issued.Pod is { } pod)
        {
            user["extra"] = new JsonObject
            {
                ["authentication.kubernetes.io/pod-name"] = new JsonArray(pod),
                ["authentication.kubernetes.io/pod-uid"] = new JsonArray(Guid.NewGuid().ToString()),
            };
        }

        return new JsonObject
        {
            ["authenticated"] = true,
            ["user"] = user,
            ["audiences"] = new JsonArray([.. audiences.Select(a => (JsonNode?)a)]),
        };
    }

    private sealed record IssuedToken(string User, string[] Groups, string[] Audiences, DateTimeOffset Expires, string? Pod);
}
