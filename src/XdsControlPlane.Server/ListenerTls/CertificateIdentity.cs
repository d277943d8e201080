using System.Security.Cryptography.X509Certificates;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>Why a client certificate carries no usable identity.</summary>
/// <param name="Reason"><c>no_spiffe_id</c> or <c>trust_domain</c> (a metric's label value).</param>
/// <param name="Identity">What the certificate had instead of a SPIFFE ID of the trust domain.</param>
/// <param name="Tail">The end of a sentence that starts with who asked for what: "as …, which is not of the trust domain …".</param>
public sealed record CertificateIdentityProblem(string Reason, string Identity, string Tail);

/// <summary>
/// A client certificate's workload identity: exactly one SPIFFE ID <c>spiffe://&lt;trust-domain&gt;/ns/&lt;ns&gt;/sa/&lt;sa&gt;</c>
/// of the trust domain, as the xDS node identity and the tunnel agent identity both read it. Pure.
/// </summary>
public static class CertificateIdentity
{
    /// <summary>
    /// The SPIFFE ID of <paramref name="certificate"/> when it carries exactly one, well formed and of
    /// <paramref name="trustDomain"/>; else null and <paramref name="problem"/> says why.
    /// </summary>
    /// <param name="certificate">The client's certificate.</param>
    /// <param name="trustDomain">The trust domain it must belong to.</param>
    /// <param name="trustDomainSetting">The setting that names the trust domain, for the refusal (<c>Xds:TrustDomain, --xds-trust-domain</c>).</param>
    /// <param name="problem">Why there is none.</param>
    public static SpiffeId? Of(X509Certificate2 certificate, string trustDomain, string trustDomainSetting, out CertificateIdentityProblem? problem)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        problem = null;
        var uris = SpiffeId.UrisOf(certificate);
        if (uris.Count != 1)
        {
            var had = uris.Count == 0 ? "no spiffe:// URI SAN" : $"{uris.Count} spiffe:// URI SANs";
            problem = new CertificateIdentityProblem("no_spiffe_id", $"certificate '{certificate.Subject}'", $"with a client certificate ('{certificate.Subject}') that has {had}; it must carry exactly one SPIFFE ID spiffe://{trustDomain}/ns/<namespace>/sa/<service-account>");
            return null;
        }

        if (SpiffeId.Parse(uris[0], out var shape) is not { } identity)
        {
            problem = new CertificateIdentityProblem("no_spiffe_id", uris[0], $"as {uris[0]}, which is {shape}");
            return null;
        }

        if (identity.TrustDomain != trustDomain)
        {
            problem = new CertificateIdentityProblem("trust_domain", identity.ToString(), $"as {identity}, which is not of the trust domain {trustDomain} ({trustDomainSetting})");
            return null;
        }

        return identity;
    }
}
