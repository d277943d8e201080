namespace XdsControlPlane.Xds;

/// <summary>
/// Checks that a snapshot is whole before it is served: every EDS name an EDS cluster loads has a
/// ClusterLoadAssignment, every RDS name a listener loads has a RouteConfiguration, every cluster a route, mirror
/// policy, TCP proxy or ext_authz filter sends to exists, and every SDS secret a TLS context loads over ADS exists.
/// A client served an inconsistent snapshot keeps clusters or listeners warming, or answers 503.
/// </summary>
public static class SnapshotConsistency
{
    /// <summary>Every problem found, one sentence each; empty when the snapshot is consistent.</summary>
    public static IReadOnlyList<string> Check(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var problems = new List<string>();
        foreach (var rule in Rules)
        {
            Missing(snapshot, rule, snapshot.Resources(rule.From).Values.OrderBy(r => r.Name, StringComparer.Ordinal), problems);
        }

        return problems;
    }

    /// <summary>
    /// Checks only <paramref name="derivation"/>'s upserted resources: enough when its base was consistent and nothing
    /// was removed (a replaced resource keeps its name, so what referred to it still resolves). Otherwise the whole
    /// snapshot is checked.
    /// </summary>
    internal static IReadOnlyList<string> Check(Snapshot snapshot, SnapshotDerivation derivation)
    {
        if (derivation.Removed > 0)
        {
            return Check(snapshot);
        }

        var problems = new List<string>();
        foreach (var rule in Rules)
        {
            Missing(snapshot, rule, derivation.Upserts.Where(r => r.TypeUrl == rule.From).OrderBy(r => r.Name, StringComparer.Ordinal), problems);
        }

        return problems;
    }

    private static readonly Rule[] Rules =
    [
        new(TypeUrls.Cluster, r => r.References.EdsServices, TypeUrls.ClusterLoadAssignment, "loads endpoints from"),
        new(TypeUrls.Listener, r => r.References.RouteConfigurations, TypeUrls.RouteConfiguration, "loads routes from"),
        new(TypeUrls.Listener, r => r.References.Clusters, TypeUrls.Cluster, "sends traffic to"),
        new(TypeUrls.RouteConfiguration, r => r.References.Clusters, TypeUrls.Cluster, "routes to"),
        new(TypeUrls.Listener, r => r.References.Secrets, TypeUrls.Secret, "loads the secret"),
        new(TypeUrls.Cluster, r => r.References.Secrets, TypeUrls.Secret, "loads the secret"),
    ];

    /// <summary>Resources of type <paramref name="From"/> must find what <paramref name="References"/> names among <paramref name="To"/>.</summary>
    private sealed record Rule(string From, Func<XdsResource, IReadOnlyList<string>> References, string To, string Verb);

    private static void Missing(Snapshot snapshot, Rule rule, IEnumerable<XdsResource> resources, List<string> problems)
    {
        var targets = snapshot.Resources(rule.To);
        foreach (var resource in resources)
        {
            foreach (var name in rule.References(resource).Where(name => !targets.ContainsKey(name)))
            {
                problems.Add($"{TypeUrls.ShortName(rule.From)} '{resource.Name}' {rule.Verb} {TypeUrls.ShortName(rule.To)} '{name}', which the snapshot does not contain.");
            }
        }
    }
}
