using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace XdsControlPlane.Translation;

/// <summary>
/// The gateway's HTTPS certificate, checked: a PEM chain (leaf first, as cert-manager writes <c>tls.crt</c>) and the
/// private key of its leaf (<c>tls.key</c>), each within a size bound. Made only by <see cref="Parse"/>; its text
/// (<see cref="ToString"/>) names the certificate and never the key. Pure: the time is given to
/// <see cref="ValidityProblem"/>.
/// </summary>
public sealed class GatewayCertificate
{
    /// <summary>The largest certificate chain accepted, in bytes (a wildcard leaf with two intermediates is about 5 KiB).</summary>
    public const int MaxChainBytes = 64 * 1024;

    /// <summary>The largest private key accepted, in bytes (an RSA 8192 key in PEM is about 6.5 KiB).</summary>
    public const int MaxKeyBytes = 16 * 1024;

    /// <summary>The most certificates in the chain.</summary>
    public const int MaxChainLength = 8;

    private GatewayCertificate(string chainPem, string keyPem, X509Certificate2 leaf, int chainLength)
    {
        ChainPem = chainPem;
        KeyPem = keyPem;
        NotBefore = new DateTimeOffset(leaf.NotBefore.ToUniversalTime());
        NotAfter = new DateTimeOffset(leaf.NotAfter.ToUniversalTime());
        Subject = leaf.Subject;
        DnsNames = [.. leaf.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames())];
        Fingerprint = leaf.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant();
        ChainLength = chainLength;
    }

    /// <summary>The chain as PEM, leaf first, re-encoded (text around the PEM blocks dropped).</summary>
    public string ChainPem { get; }

    /// <summary>The private key's PEM block. Goes into the SDS secret only: never logged, never in <c>/debug/snapshot</c>.</summary>
    internal string KeyPem { get; }

    /// <summary>When the leaf becomes valid.</summary>
    public DateTimeOffset NotBefore { get; }

    /// <summary>When the leaf expires.</summary>
    public DateTimeOffset NotAfter { get; }

    /// <summary>The leaf's subject.</summary>
    public string Subject { get; }

    /// <summary>The leaf's DNS names (<c>*.preview.example.com</c>).</summary>
    public IReadOnlyList<string> DnsNames { get; }

    /// <summary>The SHA-256 fingerprint of the leaf, lower-case hex.</summary>
    public string Fingerprint { get; }

    /// <summary>How many certificates the chain holds.</summary>
    public int ChainLength { get; }

    /// <summary>
    /// Checks and reads a certificate pair. <paramref name="source"/> names where it came from in the error
    /// (<c>Secret ns/name</c>, a file).
    /// </summary>
    /// <exception cref="FormatException">Why the pair cannot be served, naming the part (<c>tls.crt</c>, <c>tls.key</c>).</exception>
    public static GatewayCertificate Parse(string chainPem, string keyPem, string source)
    {
        ArgumentNullException.ThrowIfNull(chainPem);
        ArgumentNullException.ThrowIfNull(keyPem);
        Bounded(chainPem, MaxChainBytes, "tls.crt", source);
        Bounded(keyPem, MaxKeyBytes, "tls.key", source);
        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPem(chainPem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new FormatException($"{source}: tls.crt: not a PEM certificate chain ({e.Message})", e);
        }

        try
        {
            if (chain.Count == 0)
            {
                throw new FormatException($"{source}: tls.crt: holds no PEM certificate");
            }

            if (chain.Count > MaxChainLength)
            {
                throw new FormatException($"{source}: tls.crt: {chain.Count} certificates, at most {MaxChainLength} are accepted");
            }

            var key = KeyBlock(keyPem, source);
            var leafPem = chain[0].ExportCertificatePem();
            try
            {
                using var paired = X509Certificate2.CreateFromPem(leafPem, key);
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                throw new FormatException($"{source}: tls.key: not the private key of the first certificate of tls.crt ({e.Message})", e);
            }

            var text = new StringBuilder();
            foreach (var certificate in chain)
            {
                text.Append(certificate.ExportCertificatePem()).Append('\n');
            }

            return new GatewayCertificate(text.ToString(), key + "\n", chain[0], chain.Count);
        }
        finally
        {
            foreach (var certificate in chain)
            {
                certificate.Dispose();
            }
        }
    }

    /// <summary>Why the leaf should not be served at <paramref name="now"/> (expired, not yet valid), or null.</summary>
    public string? ValidityProblem(DateTimeOffset now) =>
        now >= NotAfter ? $"expired at {NotAfter.ToString("u", CultureInfo.InvariantCulture)}"
        : now < NotBefore ? $"not valid before {NotBefore.ToString("u", CultureInfo.InvariantCulture)}"
        : null;

    /// <summary>Subject, DNS names, expiry and fingerprint: what logs say of it.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Subject} [{string.Join(", ", DnsNames)}] until {NotAfter:u}, SHA-256 {Fingerprint[..16]}…");

    private static void Bounded(string text, int max, string part, string source)
    {
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > max)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{source}: {part}: {bytes} bytes, at most {max} are accepted"));
        }
    }

    /// <summary>The one private key PEM block of <paramref name="keyPem"/>.</summary>
    private static string KeyBlock(string keyPem, string source)
    {
        var rest = keyPem.AsSpan();
        string? found = null;
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label];
            if (label.EndsWith("PRIVATE KEY", StringComparison.Ordinal))
            {
                if (found is not null)
                {
                    throw new FormatException($"{source}: tls.key: holds more than one private key");
                }

                if (label.StartsWith("ENCRYPTED", StringComparison.Ordinal))
                {
                    throw new FormatException($"{source}: tls.key: the private key is encrypted; Envoy needs it in the clear");
                }

                found = rest[fields.Location].ToString();
            }

            rest = rest[fields.Location.End..];
        }

        return found ?? throw new FormatException($"{source}: tls.key: holds no PEM private key");
    }
}
