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
        Missing(snapshot, TypeUrls.Cluster, r => r.References.EdsServices, TypeUrls.ClusterLoadAssignment, "loads endpoints from", problems);
        Missing(snapshot, TypeUrls.Listener, r => r.References.RouteConfigurations, TypeUrls.RouteConfiguration, "loads routes from", problems);
        Missing(snapshot, TypeUrls.Listener, r => r.References.Clusters, TypeUrls.Cluster, "sends traffic to", problems);
        Missing(snapshot, TypeUrls.RouteConfiguration, r => r.References.Clusters, TypeUrls.Cluster, "routes to", problems);
        Missing(snapshot, TypeUrls.Listener, r => r.References.Secrets, TypeUrls.Secret, "loads the secret", problems);
        Missing(snapshot, TypeUrls.Cluster, r => r.References.Secrets, TypeUrls.Secret, "loads the secret", problems);
        return problems;
    }

    private static void Missing(Snapshot snapshot, string fromType, Func<XdsResource, IReadOnlyList<string>> references, string toType, string verb, List<string> problems)
    {
        var targets = snapshot.Resources(toType);
        foreach (var resource in snapshot.Resources(fromType).Values.OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            foreach (var name in references(resource).Where(name => !targets.ContainsKey(name)))
            {
                problems.Add($"{TypeUrls.ShortName(fromType)} '{resource.Name}' {verb} {TypeUrls.ShortName(toType)} '{name}', which the snapshot does not contain.");
            }
        }
    }
}
