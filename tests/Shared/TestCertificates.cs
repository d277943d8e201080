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
