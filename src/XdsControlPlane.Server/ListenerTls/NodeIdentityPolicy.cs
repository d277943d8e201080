using System.Security.Cryptography.X509Certificates;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>Why a node was refused: a short reason for the metric's label and the sentence the client reads.</summary>
/// <param name="Reason"><c>no_spiffe_id</c>, <c>trust_domain</c> or <c>role</c>.</param>
/// <param name="Identity">Who asked: the SPIFFE ID, or what the certificate had instead.</param>
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
    public NodeRefusal? Check(string nodeId, string role, X509Certificate2? certificate)
    {
        if (certificate is null)
        {
            return null;
        }

        var asked = $"node '{nodeId}' asked for the {role} configuration";
        if (CertificateIdentity.Of(certificate, trustDomain, "Xds:TrustDomain, --xds-trust-domain", out var problem) is not { } identity)
        {
            return new NodeRefusal(problem!.Reason, problem.Identity, $"{asked} {problem.Tail}");
        }

        if (!rules.Any(rule => rule.Admits(role, identity)))
        {
            var roles = rules.Where(rule => rule.Admits(rule.Role, identity)).Select(rule => rule.Role).Distinct(StringComparer.Ordinal).ToArray();
            var may = roles.Length == 0 ? "no role" : $"only {string.Join(", ", roles)}";
            return new NodeRefusal("role", identity.ToString(), $"{asked} as {identity}, which may take {may}: no grant {role}={identity.Namespace}/{identity.ServiceAccount} in Xds:RoleIdentities (--xds-role-identity)");
        }

        return null;
    }
}
