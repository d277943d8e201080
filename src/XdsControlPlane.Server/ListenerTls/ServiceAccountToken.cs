using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using XdsControlPlane.Model;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// A bearer token as an xDS client sends it (<c>authorization: Bearer &lt;token&gt;</c> metadata) and what is read from
/// it without trusting it: its SHA-256 (the cache key; the token itself is never kept, logged or echoed), the expiry its
/// JWT payload claims (read only after the API server authenticated it, to cap how long a verdict is reused), and the
/// identity a TokenReview's user name gives. Pure.
/// </summary>
internal static class ServiceAccountToken
{
    /// <summary>The metadata key the token travels in.</summary>
    public const string MetadataKey = "authorization";

    private const string Scheme = "Bearer ";
    private const string ServiceAccountPrefix = "system:serviceaccount:";

    /// <summary>
    /// The token of <paramref name="authorization"/> (the metadata value), or null with <paramref name="problem"/> saying
    /// why it is not one (never quoting it): not <c>Bearer &lt;token&gt;</c>, over <see cref="TokenReviewOptions.MaxTokenBytes"/>, or holding
    /// characters a JWT cannot.
    /// </summary>
    public static string? FromMetadata(string authorization, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(authorization);
        problem = null;
        if (!authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            problem = "is not sent as 'authorization: Bearer <token>'";
            return null;
        }

        var token = authorization[Scheme.Length..].Trim();
        if (token.Length == 0)
        {
            problem = "is empty";
            return null;
        }

        if (token.Length > TokenReviewOptions.MaxTokenBytes)
        {
            problem = $"is longer than {TokenReviewOptions.MaxTokenBytes} bytes";
            return null;
        }

        if (!token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '=' or '+' or '/' or '~'))
        {
            problem = "holds characters a token cannot (letters, digits and -._~+/= only)";
            return null;
        }

        return token;
    }

    /// <summary>The cache key of <paramref name="token"/>: its SHA-256, hex.</summary>
    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>The <c>exp</c> claim of <paramref name="token"/>'s JWT payload, or null when it has none or is not a JWT. Not verified: use it only for a token the API server authenticated.</summary>
    public static DateTimeOffset? ExpiresAt(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Split('.') is not [_, var payload, _] || payload.Length > TokenReviewOptions.MaxTokenBytes)
        {
            return null;
        }

        try
        {
            using var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(payload));
            return claims.RootElement.ValueKind == JsonValueKind.Object
                && claims.RootElement.TryGetProperty("exp", out var exp)
                && exp.TryGetInt64(out var seconds)
                && seconds is > 0 and < 253402300800
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : null;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The identity a TokenReview's <paramref name="username"/> names: <c>system:serviceaccount:NS:SA</c> is the workload
    /// <c>spiffe://<paramref name="trustDomain"/>/ns/NS/sa/SA</c>, as its certificate would say; null for any other user.
    /// </summary>
    public static SpiffeId? IdentityOf(string? username, string trustDomain) =>
        username is not null
        && username.StartsWith(ServiceAccountPrefix, StringComparison.Ordinal)
        && username[ServiceAccountPrefix.Length..].Split(':') is [var ns, var sa]
        && SchemaPatterns.IsDnsLabel(ns)
        && SchemaPatterns.IsDnsSubdomain(sa)
            ? new SpiffeId(trustDomain, ns, sa)
            : null;

    /// <summary>
    /// <paramref name="text"/> (an API server's error, a user name) fit to log and send back: printable, at most 200
    /// characters, and without <paramref name="token"/> or any of its dot-separated parts.
    /// </summary>
    public static string Scrub(string? text, string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        foreach (var part in token.Split('.').Prepend(token).Where(part => part.Length >= 8))
        {
            text = text.Replace(part, "<token>", StringComparison.Ordinal);
        }

        var printable = new string([.. text.Take(200).Select(c => char.IsControl(c) ? '?' : c)]);
        return text.Length > 200 ? printable + "…" : printable;
    }
}
