using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using XdsControlPlane.Model;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// A Kubernetes workload's SPIFFE ID, <c>spiffe://&lt;trust-domain&gt;/ns/&lt;namespace&gt;/sa/&lt;service-account&gt;</c>,
/// as the URI SAN of its X.509 SVID carries it (Istio, cert-manager's csi-driver-spiffe, SPIRE's Kubernetes workload registrar).
/// </summary>
/// <param name="TrustDomain">The trust domain (lower-case letters, digits, '.', '-', '_').</param>
/// <param name="Namespace">The workload's namespace.</param>
/// <param name="ServiceAccount">The workload's ServiceAccount.</param>
public sealed record SpiffeId(string TrustDomain, string Namespace, string ServiceAccount)
{
    /// <summary>The longest SPIFFE ID accepted (the SPIFFE spec's limit).</summary>
    public const int MaxLength = 2048;

    private const string Scheme = "spiffe://";

    /// <inheritdoc />
    public override string ToString() => $"{Scheme}{TrustDomain}/ns/{Namespace}/sa/{ServiceAccount}";

    /// <summary>Whether <paramref name="text"/> is a trust domain name (lower-case letters, digits, '.', '-', '_'; at most 255).</summary>
    public static bool IsTrustDomain(string? text) =>
        text is { Length: > 0 and <= 255 } && text.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-' or '_');

    /// <summary>
    /// <paramref name="uri"/> as a Kubernetes workload's SPIFFE ID, or null with <paramref name="problem"/> saying why
    /// (not <c>spiffe://</c>, another path shape, names Kubernetes would not allow).
    /// </summary>
    public static SpiffeId? Parse(string uri, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(uri);
        problem = null;
        if (uri.Length > MaxLength || !uri.StartsWith(Scheme, StringComparison.Ordinal))
        {
            problem = "not a spiffe:// URI of at most 2048 characters";
            return null;
        }

        var parts = uri[Scheme.Length..].Split('/');
        if (parts is not [var domain, "ns", var ns, "sa", var sa] || !IsTrustDomain(domain) || !SchemaPatterns.IsDnsLabel(ns) || !SchemaPatterns.IsDnsSubdomain(sa))
        {
            problem = "not spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>";
            return null;
        }

        return new SpiffeId(domain, ns, sa);
    }

    /// <summary>
    /// The URI SANs of <paramref name="certificate"/> that start with <c>spiffe://</c> (the SPIFFE spec allows exactly one),
    /// printable and capped; empty when it has none or its SAN extension does not parse.
    /// </summary>
    public static IReadOnlyList<string> UrisOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var found = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
            {
                continue;
            }

            try
            {
                var names = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
                var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
                while (names.HasData && found.Count < 8)
                {
                    if (names.PeekTag().HasSameClassAndValue(uriTag))
                    {
                        var uri = names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag);
                        if (uri.StartsWith(Scheme, StringComparison.Ordinal))
                        {
                            found.Add(uri.Length > MaxLength ? uri[..MaxLength] : uri);
                        }
                    }
                    else
                    {
                        names.ReadEncodedValue();
                    }
                }
            }
            catch (Exception e) when (e is AsnContentException or CryptographicException)
            {
                return [];
            }
        }

        return found;
    }
}
