namespace XdsControlPlane.Xds;

/// <summary>What a cluster update implies for endpoints.</summary>
internal static class ClusterChanges
{
    /// <summary>
    /// EDS names of clusters that are new or changed between <paramref name="before"/> and <paramref name="after"/>:
    /// Envoy keeps such a cluster warming until it receives its endpoints, even unchanged ones.
    /// </summary>
    public static IEnumerable<string> EdsNamesOfChanged(IReadOnlyDictionary<string, XdsResource> before, IReadOnlyDictionary<string, XdsResource> after) =>
        after.Where(c => !before.TryGetValue(c.Key, out var previous) || previous.Version != c.Value.Version)
            .SelectMany(c => c.Value.References.EdsServices);
}
