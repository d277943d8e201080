namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// Checks that a snapshot is whole before it is served, by the references each type declares in
/// <see cref="XdsResourceTypes"/>: every EDS name an EDS cluster loads has a
/// ClusterLoadAssignment, every RDS name a listener or a routing scope (SRDS) loads has a RouteConfiguration, every cluster a route, mirror
/// policy, TCP proxy or ext_authz filter sends to exists (or is a bootstrap's static cluster, <see cref="BootstrapClusters"/>),
/// and every SDS secret a TLS context loads over ADS exists.
/// A client served an inconsistent snapshot keeps clusters or listeners warming, or answers 503.
/// </summary>
public static class SnapshotConsistency
{
    /// <summary>Every declared reference, by the type that declares it, in push order.</summary>
    private static readonly (XdsResourceType From, TypeReference Reference)[] Rules =
        [.. XdsResourceTypes.All.SelectMany(type => type.References.Select(reference => (type, reference)))];

    /// <summary>Every problem found, one sentence each; empty when the snapshot is consistent.</summary>
    public static IReadOnlyList<string> Check(Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var problems = new List<string>();
        foreach (var (from, reference) in Rules)
        {
            Missing(snapshot, from, reference, snapshot.Resources(from.TypeUrl).Values.OrderBy(r => r.Name, StringComparer.Ordinal), problems);
        }

        return problems;
    }

    /// <summary>
    /// Checks <paramref name="snapshot"/> before it replaces <paramref name="served"/>: when it was made from
    /// <paramref name="served"/> by <see cref="Snapshot.With"/> and nothing was removed, only its upserted resources
    /// (a replaced resource keeps its name, so what referred to it still resolves), else the whole snapshot. Only the
    /// first check of a snapshot made by <see cref="Snapshot.With"/> can be partial: it hands its derivation out once.
    /// </summary>
    /// <param name="snapshot">The snapshot to check.</param>
    /// <param name="served">The consistent snapshot the caller serves now, if any.</param>
    /// <returns>
    /// The problems, and whether only the changes against <paramref name="served"/> were checked: then the result holds
    /// only while <paramref name="served"/> is what the caller serves (check the whole snapshot otherwise).
    /// </returns>
    public static (IReadOnlyList<string> Problems, bool ChangesOnly) Check(Snapshot snapshot, Snapshot? served)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var derivation = snapshot.TakeDerivation();
        if (derivation is null || served is null || !ReferenceEquals(derivation.Base, served))
        {
            return (Check(snapshot), false);
        }

        if (derivation.Removed > 0)
        {
            return (Check(snapshot), false);
        }

        var problems = new List<string>();
        foreach (var (from, reference) in Rules)
        {
            Missing(snapshot, from, reference, derivation.Upserts.Where(r => r.TypeUrl == from.TypeUrl).OrderBy(r => r.Name, StringComparer.Ordinal), problems);
        }

        return (problems, true);
    }

    private static void Missing(Snapshot snapshot, XdsResourceType from, TypeReference reference, IEnumerable<XdsResource> resources, List<string> problems)
    {
        var targets = snapshot.Resources(reference.TypeUrl);
        foreach (var resource in resources)
        {
            // A bootstrap's static cluster (the control plane, which ext_authz calls) is never a CDS resource.
            foreach (var name in reference.Names(resource.References).Where(name => !targets.ContainsKey(name) && !(reference.TypeUrl == TypeUrls.Cluster && BootstrapClusters.Contains(name))))
            {
                problems.Add($"{from.ShortName} '{resource.Name}' {reference.Verb} {TypeUrls.ShortName(reference.TypeUrl)} '{name}', which the snapshot does not contain.");
            }
        }
    }
}
