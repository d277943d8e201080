using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace XdsControlPlane.Server;

/// <summary>What <see cref="DebugAccess"/> decided about one request.</summary>
internal enum DebugAccessDecision
{
    /// <summary>Serve it.</summary>
    Allowed,

    /// <summary>A non-loopback client and no token configured: 403.</summary>
    LoopbackOnly,

    /// <summary>A non-loopback client without the configured bearer token: 401.</summary>
    TokenRequired,
}

/// <summary>
/// Who may read <c>/debug</c>, which lists every routing key, address and matcher: loopback clients always (a
/// <c>kubectl port-forward</c> arrives from loopback inside the pod); others only when a token is configured and they
/// send <c>Authorization: Bearer &lt;token&gt;</c>, compared in constant time. The remote address is the socket's
/// peer (no forwarded headers are trusted).
/// </summary>
internal sealed class DebugAccess
{
    private readonly byte[]? _tokenHash;

    /// <param name="token">The bearer token non-loopback clients must send; <see langword="null"/> serves loopback clients only.</param>
    public DebugAccess(string? token) => _tokenHash = string.IsNullOrEmpty(token) ? null : Hash(token);

    /// <summary>Decides for a request from <paramref name="remote"/> carrying the <c>Authorization</c> header value <paramref name="authorization"/>.</summary>
    public DebugAccessDecision Decide(IPAddress? remote, string? authorization)
    {
        if (remote is not null && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote))
        {
            return DebugAccessDecision.Allowed;
        }

        if (_tokenHash is null)
        {
            return DebugAccessDecision.LoopbackOnly;
        }

        const string scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            return DebugAccessDecision.TokenRequired;
        }

        // Hashes have one length whatever was sent, so the comparison's time says nothing about the token.
        return CryptographicOperations.FixedTimeEquals(Hash(authorization[scheme.Length..].Trim()), _tokenHash)
            ? DebugAccessDecision.Allowed
            : DebugAccessDecision.TokenRequired;
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
