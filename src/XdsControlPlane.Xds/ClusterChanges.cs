namespace XdsControlPlane.Xds;

/// <summary>What a cluster update implies for endpoints.</summary>
internal static class ClusterChanges
{
    /// <summary>
    /// EDS names of the clusters in <paramref name="after"/> that are new or changed against <paramref name="before"/>:
    /// Envoy keeps such a cluster warming until it receives its endpoints, even unchanged ones.
    /// </summary>
    public static IEnumerable<string> EdsNamesOfChanged(IReadOnlyDictionary<string, XdsResource> before, IEnumerable<XdsResource> after) =>
        after.Where(c => !before.TryGetValue(c.Name, out var previous) || previous.Version != c.Version)
            .SelectMany(c => c.References.EdsServices);
}
