using XdsControlPlane.Model;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// One grant of a data-plane role to Kubernetes identities, written <c>ROLE=NAMESPACE/SERVICEACCOUNT</c> where
/// <c>*</c> stands for any namespace or any ServiceAccount (<c>gateway=sandboxctl-system/xds-gateway</c>, <c>sidecar=*/*</c>).
/// </summary>
/// <param name="Role">A <see cref="DataPlaneRoles"/> value.</param>
/// <param name="Namespace">The namespace, or <c>*</c>.</param>
/// <param name="ServiceAccount">The ServiceAccount, or <c>*</c>.</param>
public sealed record RoleIdentityRule(string Role, string Namespace, string ServiceAccount)
{
    /// <summary>Any namespace or ServiceAccount.</summary>
    public const string Any = "*";

    /// <summary>Whether this rule lets <paramref name="identity"/> take <paramref name="role"/>.</summary>
    public bool Admits(string role, SpiffeId identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return Role == role
            && (Namespace == Any || Namespace == identity.Namespace)
            && (ServiceAccount == Any || ServiceAccount == identity.ServiceAccount);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Role}={Namespace}/{ServiceAccount}";

    /// <summary><paramref name="text"/> as a rule, or null with <paramref name="problem"/> saying why.</summary>
    public static RoleIdentityRule? Parse(string text, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        problem = null;
        if (text.Split('=') is not [var role, var who] || who.Split('/') is not [var ns, var sa])
        {
            problem = $"must be ROLE=NAMESPACE/SERVICEACCOUNT (e.g. gateway=sandboxctl-system/xds-gateway), got '{Printable(text)}'";
            return null;
        }

        if (!DataPlaneRoles.All.Contains(role))
        {
            problem = $"names role '{Printable(role)}'; roles are {string.Join(", ", DataPlaneRoles.All)}";
            return null;
        }

        if ((ns != Any && !SchemaPatterns.IsDnsLabel(ns)) || (sa != Any && !SchemaPatterns.IsDnsSubdomain(sa)))
        {
            problem = $"must name a namespace and a ServiceAccount (or *), got '{Printable(who)}'";
            return null;
        }

        return new RoleIdentityRule(role, ns, sa);
    }

    private static string Printable(string text) => new([.. text.Take(100).Select(c => char.IsControl(c) ? '?' : c)]);
}

/// <summary>
/// Node identity on the xDS listener (configuration section <c>Xds</c>): with client certificates on
/// (<c>Xds:Tls:ClientCertificates</c>), the SPIFFE ID of a client's certificate must belong to
/// <see cref="TrustDomain"/> and be granted the role its node asks for by one of <see cref="RoleIdentities"/>.
/// </summary>
public sealed class NodeIdentityOptions
{
    /// <summary>The roles every identity of the trust domain may take when <see cref="RoleIdentities"/> is empty: sidecar and grpc; the gateway role is granted explicitly.</summary>
    public static IReadOnlyList<RoleIdentityRule> DefaultRules { get; } = [new(DataPlaneRoles.Sidecar, RoleIdentityRule.Any, RoleIdentityRule.Any), new(DataPlaneRoles.Grpc, RoleIdentityRule.Any, RoleIdentityRule.Any)];

    /// <summary>The SPIFFE trust domain client certificates must be of (default <c>cluster.local</c>).</summary>
    public string TrustDomain { get; set; } = "cluster.local";

    /// <summary>The grants, each <c>ROLE=NAMESPACE/SERVICEACCOUNT</c>; empty means <see cref="DefaultRules"/>.</summary>
    public IReadOnlyList<string> RoleIdentities { get; set; } = [];

    /// <summary>ServiceAccount tokens checked with TokenReview (<c>Xds:TokenReview</c>; off by default, Kubernetes mode only).</summary>
    public TokenReviewOptions TokenReview { get; set; } = new();

    /// <summary>The grants in force; valid after <see cref="Validate"/> passed.</summary>
    public IReadOnlyList<RoleIdentityRule> Rules => RoleIdentities.Count == 0 ? DefaultRules : [.. RoleIdentities.Select(text => RoleIdentityRule.Parse(text, out _)!)];

    /// <summary>The problems with these settings, token review's in <paramref name="kubernetes"/> mode or not; empty when valid.</summary>
    public IEnumerable<string> Validate(bool kubernetes = false)
    {
        foreach (var problem in TokenReview.Validate(kubernetes))
        {
            yield return problem;
        }

        if (!SpiffeId.IsTrustDomain(TrustDomain))
        {
            yield return $"Xds:TrustDomain (--xds-trust-domain) must be a trust domain name (lower-case letters, digits, '.', '-', '_'), got '{TrustDomain}'.";
        }

        if (RoleIdentities.Count > 1000)
        {
            yield return $"Xds:RoleIdentities (--xds-role-identity) holds at most 1000 grants, got {RoleIdentities.Count}.";
            yield break;
        }

        foreach (var (text, index) in RoleIdentities.Select((text, index) => (text, index)))
        {
            if (RoleIdentityRule.Parse(text, out var problem) is null)
            {
                yield return $"Xds:RoleIdentities[{index}] (--xds-role-identity) {problem}.";
            }
        }
    }
}
