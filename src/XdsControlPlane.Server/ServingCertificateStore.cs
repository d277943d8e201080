using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using XdsControlPlane.Server.Webhook;

namespace XdsControlPlane.Server;

/// <summary>
/// A TLS listener's current serving certificate: each new TLS handshake takes the one in force, so a reload reaches
/// new connections while established ones keep theirs. Written by one certificate source (files, generated, a
/// Kubernetes Secret), read by Kestrel. The webhook's (<see cref="WebhookCertificateStore"/>) and the xDS and tunnel
/// listeners' (<see cref="ListenerTls.ListenerCredentials"/>) are each one. The handshake sends the leaf with the
/// intermediate certificates that follow it in the bundle (cert-manager writes <c>tls.crt</c> as leaf + intermediates),
/// so a client that trusts only the root can build the chain.
/// </summary>
internal class ServingCertificateStore
{
    private volatile Served? _served;

    /// <summary>The certificate new handshakes get, or <see langword="null"/> before the first one is loaded (handshakes then fail).</summary>
    public X509Certificate2? Certificate => _served?.Certificate;

    /// <summary>How many intermediate certificates new handshakes send after the leaf.</summary>
    public int IntermediateCount => _served?.Context.IntermediateCertificates.Count ?? 0;

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

        var certificate = bundle.Load();

        // Offline: the chain is what the bundle holds, never fetched (no AIA downloads from a control plane).
        var context = SslStreamCertificateContext.Create(certificate, bundle.LoadIntermediates(), offline: true);

        // The previous certificate is not disposed: a handshake in progress may still be using it.
        _served = new Served(bundle, certificate, context);
        return true;
    }

    /// <summary>
    /// Makes <paramref name="https"/> serve the certificate in force with its intermediates at each handshake. Before the
    /// first certificate is loaded the handshake fails, as it did with a certificate selector alone.
    /// </summary>
    public void ServeOn(HttpsConnectionAdapterOptions https)
    {
        ArgumentNullException.ThrowIfNull(https);

        // Kestrel needs a certificate or a selector to accept the options; the selector also keeps handshakes failing
        // cleanly while there is no certificate yet.
        https.ServerCertificateSelector = (_, _) => Certificate;
        var previous = https.OnAuthenticate;
        https.OnAuthenticate = (connection, ssl) =>
        {
            previous?.Invoke(connection, ssl);
            if (_served is { } served)
            {
                // SslStream takes a context (leaf + intermediates) or a selector (leaf only), not both.
                ssl.ServerCertificateSelectionCallback = null;
                ssl.ServerCertificate = null;
                ssl.ServerCertificateContext = served.Context;
            }
        };
    }

    private sealed record Served(TlsBundle Bundle, X509Certificate2 Certificate, SslStreamCertificateContext Context);
}
