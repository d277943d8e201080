using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace XdsControlPlane.Server.Webhook;

/// <summary>
/// A serving certificate with its key and the CA (one or more PEM certificates) a client trusts it by, as PEM text:
/// what a <c>kubernetes.io/tls</c> Secret holds (<c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>) and what the
/// certificate files hold.
/// </summary>
/// <param name="CertificatePem">The serving certificate (leaf first, then any chain).</param>
/// <param name="KeyPem">Its private key.</param>
/// <param name="CaPem">The CA certificates that sign it (during a rollover also the previous CA), or empty when unknown (files).</param>
internal sealed record TlsBundle(string CertificatePem, string KeyPem, string CaPem)
{
    /// <summary>The serving certificate with its key, ready for Kestrel.</summary>
    /// <exception cref="CryptographicException">The PEM text is not a certificate and its matching key.</exception>
    public X509Certificate2 Load()
    {
        using var pem = X509Certificate2.CreateFromPem(CertificatePem, KeyPem);

        // Exported and re-imported so the key is usable by SslStream everywhere (an ephemeral PEM key is not on Windows).
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>The most intermediate certificates a serving chain may carry.</summary>
    public const int MaxIntermediates = 8;

    /// <summary>The certificates after the leaf in <see cref="CertificatePem"/> (the intermediates a handshake sends with it).</summary>
    /// <exception cref="CryptographicException">The PEM text holds a certificate that does not parse.</exception>
    public X509Certificate2Collection LoadIntermediates()
    {
        var all = new X509Certificate2Collection();
        all.ImportFromPem(CertificatePem);
        if (all.Count > MaxIntermediates + 1)
        {
            throw new CryptographicException($"the certificate file holds {all.Count} certificates; at most the leaf and {MaxIntermediates} intermediates");
        }

        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++)
        {
            intermediates.Add(all[i]);
        }

        if (all.Count > 0)
        {
            all[0].Dispose();
        }

        return intermediates;
    }

    /// <summary>
    /// Whether the serving certificate should be replaced at <paramref name="now"/>: it does not parse, is not yet
    /// valid, or less than a third of its life is left.
    /// </summary>
    public bool NeedsRenewal(DateTimeOffset now)
    {
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(CertificatePem);
            var life = certificate.NotAfter - certificate.NotBefore;
            return now < certificate.NotBefore || now >= certificate.NotAfter - (life / 3);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return true;
        }
    }
}

/// <summary>Generates the webhook's CA and serving certificates (ECDSA P-256) and writes them as PEM. Pure: the time is given.</summary>
internal static class WebhookCertificates
{
    /// <summary>The serving certificate is backdated this much, so a clock a little behind accepts it at once.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A new CA (valid from <paramref name="now"/> for <paramref name="lifetime"/>) and a serving certificate it signs for
    /// <paramref name="dnsNames"/>, 127.0.0.1 and ::1; <paramref name="previousCaPem"/> (still valid CA certificates) stays
    /// in the CA bundle, so replicas serving the previous certificate are trusted until they reload.
    /// </summary>
    public static TlsBundle Generate(IReadOnlyCollection<string> dnsNames, DateTimeOffset now, TimeSpan lifetime, string previousCaPem = "")
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=xds-control-plane webhook CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));

        // The CA outlives the serving certificate by its renewal margin, so a renewal is never forced by the CA alone.
        using var ca = caRequest.CreateSelfSigned(now - ClockSkew, now + lifetime + (lifetime / 3));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsNames.FirstOrDefault() ?? "localhost"}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            names.AddDnsName(name);
        }

        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var serving = request.Create(ca, now - ClockSkew, now + lifetime, RandomNumberGenerator.GetBytes(16));
        return new TlsBundle(serving.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n", ca.ExportCertificatePem() + "\n" + StillValid(previousCaPem, now));
    }

    /// <summary>The certificates of <paramref name="pem"/> still valid at <paramref name="now"/>, as PEM.</summary>
    internal static string StillValid(string pem, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(pem))
        {
            return "";
        }

        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            return "";
        }

        var text = new StringBuilder();
        foreach (var certificate in collection)
        {
            // Only the newest previous CA is kept: a bundle never grows beyond two certificates.
            if (certificate.NotAfter > now && text.Length == 0)
            {
                text.Append(certificate.ExportCertificatePem()).Append('\n');
            }

            certificate.Dispose();
        }

        return text.ToString();
    }
}
