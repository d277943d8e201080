using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace XdsControlPlane.Server.Previews;

/// <summary>A browser session: the grant that opened it, the preview host it is bound to, and when it ends.</summary>
/// <param name="Namespace">The grant's namespace.</param>
/// <param name="Grant">The grant's name.</param>
/// <param name="Host">The preview host.</param>
/// <param name="Expires">When it ends.</param>
internal sealed record PreviewSession(string Namespace, string Grant, string Host, DateTimeOffset Expires);

/// <summary>
/// Session cookie values: <c>base64url(namespace \n grant \n host \n expiry-unix-seconds)</c>, a dot, and
/// <c>base64url(HMAC-SHA256(key, that payload))</c>. The signature is checked in constant time before anything in the
/// payload is believed; the caller then checks host, expiry and that the grant still exists. Pure.
/// </summary>
internal static class PreviewSessions
{
    /// <summary>The length of a signing key, in bytes.</summary>
    public const int KeyLength = 32;

    /// <summary>The cookie value of <paramref name="session"/> signed with <paramref name="key"/>.</summary>
    public static string Sign(PreviewSession session, ReadOnlySpan<byte> key)
    {
        ArgumentNullException.ThrowIfNull(session);
        var payload = Encoding.UTF8.GetBytes(string.Join('\n', session.Namespace, session.Grant, session.Host, session.Expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)));
        return Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(HMACSHA256.HashData(key, payload));
    }

    /// <summary>The session <paramref name="value"/> holds when <paramref name="key"/> signed it; null for anything else (malformed, tampered, another key).</summary>
    public static PreviewSession? Verify(string value, ReadOnlySpan<byte> key)
    {
        ArgumentNullException.ThrowIfNull(value);
        var dot = value.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || value.Length > PreviewCheck.MaxCookieLength)
        {
            return null;
        }

        Span<byte> signature = stackalloc byte[HMACSHA256.HashSizeInBytes];
        byte[] payload;
        try
        {
            if (!Base64Url.TryDecodeFromChars(value.AsSpan(dot + 1), signature, out var written) || written != signature.Length)
            {
                return null;
            }

            payload = Base64Url.DecodeFromChars(value.AsSpan(0, dot));
        }
        catch (FormatException)
        {
            return null;
        }

        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, payload, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, signature))
        {
            return null;
        }

        var parts = Encoding.UTF8.GetString(payload).Split('\n');
        return parts.Length == 4 && long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            ? new PreviewSession(parts[0], parts[1], parts[2], DateTimeOffset.FromUnixTimeSeconds(seconds))
            : null;
    }
}
