using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XdsControlPlane.Testing;

/// <summary>A certificate chain and key as PEM text, as a <c>kubernetes.io/tls</c> Secret or a pair of files holds them.</summary>
/// <param name="ChainPem">The leaf, then the CA that signed it.</param>
/// <param name="KeyPem">The leaf's private key (PKCS#8).</param>
internal sealed record TestCertificate(string ChainPem, string KeyPem)
{
    /// <summary>The base64 body of the key's PEM (no header, no line breaks): what must never appear in logs or debug output.</summary>
    public string KeyBody => string.Concat(KeyPem.Split('\n').Where(line => line.Length > 0 && !line.StartsWith("-----", StringComparison.Ordinal)));

    /// <summary>A line of the key's body long enough to be unique: what a grep of any output looks for.</summary>
    public string KeyLine => KeyPem.Split('\n').First(line => line.Length >= 40 && !line.StartsWith("-----", StringComparison.Ordinal));
}

/// <summary>Wildcard certificates for tests (ECDSA P-256, a throwaway CA), made in memory.</summary>
internal static class TestCertificates
{
    /// <summary>A chain for <c>*.<paramref name="domain"/></c> valid from <paramref name="notBefore"/> (default an hour ago) for <paramref name="lifetime"/> (default 90 days).</summary>
    public static TestCertificate Wildcard(string domain = "preview.example.com", DateTimeOffset? notBefore = null, TimeSpan? lifetime = null)
    {
        var from = notBefore ?? DateTimeOffset.UtcNow.AddHours(-1);
        var until = from + (lifetime ?? TimeSpan.FromDays(90));
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=test preview CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(from.AddDays(-1), until.AddDays(1));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=*.{domain}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName($"*.{domain}");
        request.CertificateExtensions.Add(names.Build());
        using var leaf = request.Create(ca, from, until, RandomNumberGenerator.GetBytes(16));
        return new TestCertificate(leaf.ExportCertificatePem() + "\n" + ca.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }
}

/// <summary>
/// A throwaway CA (ECDSA P-256, made in memory) that issues server certificates for loopback and client certificates
/// with a SPIFFE ID, as a mesh's CA would: for tests of the listeners' TLS and node identity.
/// </summary>
internal sealed class TestCertificateAuthority : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly X509Certificate2 _certificate;

    /// <summary>The intermediate certificates (PEM) a certificate this CA issues is sent with: none for a root.</summary>
    private readonly string _intermediatesPem = "";

    /// <summary>Makes a CA named <paramref name="name"/>, valid from a day ago for a year.</summary>
    public TestCertificateAuthority(string name = "test mesh CA")
    {
        var request = Request(name);
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(365));
    }

    private TestCertificateAuthority(string name, TestCertificateAuthority issuer)
    {
        var request = Request(name);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer._certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var signed = request.Create(issuer._certificate, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(300), RandomNumberGenerator.GetBytes(16));
        _certificate = signed.CopyWithPrivateKey(_key);
        _intermediatesPem = _certificate.ExportCertificatePem() + "\n" + issuer._intermediatesPem;
    }

    /// <summary>An intermediate CA named <paramref name="name"/> that this CA signs, as cert-manager's issuers chain: what it issues is sent with it.</summary>
    public TestCertificateAuthority Intermediate(string name = "test intermediate CA") => new(name, this);

    /// <summary>The CA certificate (PEM): what a client or a listener trusts.</summary>
    public string CaPem => _certificate.ExportCertificatePem() + "\n";

    /// <summary>The CA certificate.</summary>
    public X509Certificate2 Certificate => _certificate;

    /// <summary>A server certificate for <c>localhost</c>, 127.0.0.1 and ::1 named <paramref name="subject"/>.</summary>
    public TestCertificate Server(string subject = "xds-control-plane")
    {
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddIpAddress(System.Net.IPAddress.IPv6Loopback);
        return Issue(subject, names, "1.3.6.1.5.5.7.3.1");
    }

    /// <summary>A client certificate with the URI SAN <paramref name="spiffeId"/> (none when null), named <paramref name="subject"/>.</summary>
    public TestCertificate Client(string? spiffeId, string subject = "workload")
    {
        var names = new SubjectAlternativeNameBuilder();
        if (spiffeId is not null)
        {
            names.AddUri(new Uri(spiffeId));
        }
        else
        {
            names.AddDnsName("workload.example");
        }

        return Issue(subject, names, "1.3.6.1.5.5.7.3.2");
    }

    /// <summary><paramref name="pem"/>'s leaf with its key, ready for an <see cref="System.Net.Security.SslStream"/>.</summary>
    public static X509Certificate2 Load(TestCertificate pem)
    {
        using var ephemeral = X509Certificate2.CreateFromPem(pem.ChainPem, pem.KeyPem);
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Whether <paramref name="certificate"/> chains to this CA (a client's check of the server).</summary>
    public bool Issued(X509Certificate? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _certificate.Dispose();
        _key.Dispose();
    }

    private TestCertificate Issue(string subject, SubjectAlternativeNameBuilder names, string usage)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={subject}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        using var leaf = request.Create(_certificate, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(30), RandomNumberGenerator.GetBytes(16));
        return new TestCertificate(leaf.ExportCertificatePem() + "\n" + _intermediatesPem, key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    private CertificateRequest Request(string name)
    {
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request;
    }
}
