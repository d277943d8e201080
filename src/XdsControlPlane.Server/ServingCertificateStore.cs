using System.Security.Cryptography.X509Certificates;
using XdsControlPlane.Server.Webhook;

namespace XdsControlPlane.Server;

/// <summary>
/// A TLS listener's current serving certificate: each new TLS handshake takes the one in force, so a reload reaches
/// new connections while established ones keep theirs. Written by one certificate source (files, generated, a
/// Kubernetes Secret), read by Kestrel. The webhook's (<see cref="WebhookCertificateStore"/>) and the xDS and tunnel
/// listeners' (<see cref="ListenerTls.ListenerCredentials"/>) are each one.
/// </summary>
internal class ServingCertificateStore
{
    private volatile Served? _served;

    /// <summary>The certificate new handshakes get, or <see langword="null"/> before the first one is loaded (handshakes then fail).</summary>
    public X509Certificate2? Certificate => _served?.Certificate;

    /// <summary>The CA bundle (PEM) clients trust the certificate by, or <see langword="null"/> when it is not known (certificate files).</summary>
    public string? CaPem => _served is { Bundle.CaPem: { Length: > 0 } ca } ? ca : null;

    /// <summary>The bundle served now, or <see langword="null"/>.</summary>
    public TlsBundle? Bundle => _served?.Bundle;

    /// <summary>Serves <paramref name="bundle"/> from now on, unless it is the one served; returns whether it changed.</summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The bundle is not a certificate and its key.</exception>
    /// <exception cref="ArgumentException">The PEM text holds no certificate or no key.</exception>
    public bool Use(TlsBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        if (_served?.Bundle == bundle)
        {
            return false;
        }

        // The previous certificate is not disposed: a handshake in progress may still be using it.
        _served = new Served(bundle, bundle.Load());
        return true;
    }

    private sealed record Served(TlsBundle Bundle, X509Certificate2 Certificate);
}
