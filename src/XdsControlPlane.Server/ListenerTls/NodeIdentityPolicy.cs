using System.Security.Cryptography.X509Certificates;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>Why a node was refused: a short reason for the metric's label and the sentence the client reads.</summary>
/// <param name="Reason"><c>no_spiffe_id</c>, <c>trust_domain</c> or <c>role</c>; with tokens also <c>token_invalid</c>, <c>token_not_service_account</c>, <c>token_review_failed</c>, <c>identity_mismatch</c>, <c>no_identity</c>.</param>
/// <param name="Identity">Who asked: the SPIFFE ID, or what the certificate or token had instead.</param>
/// <param name="Message">The sentence for the gRPC status and the log.</param>
public sealed record NodeRefusal(string Reason, string Identity, string Message);

/// <summary>
/// Holds a client certificate's identity against the node group (data-plane role) its node asks for: the certificate
/// must carry exactly one SPIFFE ID of the trust domain, and a grant must let that namespace and ServiceAccount take the
/// role. A client without a certificate (client certificates optional) is not checked. Pure.
/// </summary>
public sealed class NodeIdentityPolicy(string trustDomain, IReadOnlyList<RoleIdentityRule> rules)
{
    /// <summary>The policy of <paramref name="options"/> (valid options).</summary>
    public static NodeIdentityPolicy Of(NodeIdentityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new NodeIdentityPolicy(options.TrustDomain, options.Rules);
    }

    /// <summary>Null when <paramref name="certificate"/> may receive the configuration of <paramref name="role"/>, else why not.</summary>
    /// <param name="nodeId">The node's id as sent (printable, capped), named in the refusal.</param>
    /// <param name="role">The node group the server put the node in.</param>
    /// <param name="certificate">The client's certificate, or null when it presented none.</param>
    public NodeRefusal? Check(string nodeId, string role, X509Certificate2? certificate) =>
        certificate is null ? null
        : IdentityOf(nodeId, role, certificate, out var refusal) is { } identity ? Grant(nodeId, role, identity, "")
        : refusal;

    /// <summary>The SPIFFE ID of <paramref name="certificate"/> when it carries one of the trust domain, else null and <paramref name="refusal"/> says why (for <paramref name="nodeId"/> asking for <paramref name="role"/>).</summary>
    public SpiffeId? IdentityOf(string nodeId, string role, X509Certificate2 certificate, out NodeRefusal? refusal)
    {
        refusal = null;
        if (CertificateIdentity.Of(certificate, trustDomain, "Xds:TrustDomain, --xds-trust-domain", out var problem) is { } identity)
        {
            return identity;
        }

        refusal = new NodeRefusal(problem!.Reason, problem.Identity, $"{Asked(nodeId, role)} {problem.Tail}");
        return null;
    }

    /// <summary>
    /// Null when a grant lets <paramref name="identity"/> take <paramref name="role"/>, else why not; <paramref name="how"/>
    /// says where the identity came from, after it (empty for a client certificate, <c> (ServiceAccount token)</c>).
    /// </summary>
    public NodeRefusal? Grant(string nodeId, string role, SpiffeId identity, string how)
    {
        ArgumentNullException.ThrowIfNull(identity);
        if (rules.Any(rule => rule.Admits(role, identity)))
        {
            return null;
        }

        var roles = rules.Where(rule => rule.Admits(rule.Role, identity)).Select(rule => rule.Role).Distinct(StringComparer.Ordinal).ToArray();
        var may = roles.Length == 0 ? "no role" : $"only {string.Join(", ", roles)}";
        return new NodeRefusal("role", identity.ToString(), $"{Asked(nodeId, role)} as {identity}{how}, which may take {may}: no grant {role}={identity.Namespace}/{identity.ServiceAccount} in Xds:RoleIdentities (--xds-role-identity)");
    }

    /// <summary>The start of every refusal: <c>node 'ID' asked for the ROLE configuration</c>.</summary>
    public static string Asked(string nodeId, string role) => $"node '{nodeId}' asked for the {role} configuration";
}
