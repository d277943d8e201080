using System.Security.Cryptography;
using System.Text;

namespace XdsControlPlane.Model;

/// <summary>
/// The bearer tokens of preview URLs: <see cref="Prefix"/> and 43 characters of base64url (32 random bytes), so a
/// leaked one is recognisable (secret scanners) and a malformed one is refused before any lookup. A
/// <see cref="PreviewGrant"/> holds only <see cref="Hash"/> of its token.
/// </summary>
public static class PreviewToken
{
    /// <summary>What every token starts with.</summary>
    public const string Prefix = "sbxp_";

    /// <summary>The query parameter a first visit may carry the token in (<c>?token=</c>); answered by a redirect that sets the cookie and drops it.</summary>
    public const string QueryParameter = "token";

    /// <summary>The length of every token: the prefix and 43 base64url characters.</summary>
    public const int Length = 5 + 43;

    /// <summary>A fresh token from the system's cryptographic random source.</summary>
    public static string Create() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>Whether <paramref name="token"/> has a token's shape (prefix, length, alphabet); says nothing of whether a grant backs it.</summary>
    public static bool IsWellFormed(string? token)
    {
        if (token is not { Length: Length } || !token.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in token.AsSpan(Prefix.Length))
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What <see cref="PreviewGrantSpec.SecretHash"/> holds for <paramref name="token"/>: <c>sha256:</c> and the lowercase hex SHA-256 of its UTF-8 bytes.</summary>
    public static string Hash(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
