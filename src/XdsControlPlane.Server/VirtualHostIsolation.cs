using Google.Protobuf;

namespace XdsControlPlane.Server;

/// <summary>A virtual host held out of its route configuration, and why.</summary>
/// <param name="Host">The virtual host's name.</param>
/// <param name="Reason">What is wrong with it: the rules it breaks (field paths from the host), or the clusters it sends to that are not published.</param>
/// <param name="KeptServed">Whether the version served before stays in its place (else the host is left out: it never had a good version).</param>
internal sealed record ExcludedHost(string Host, string Reason, bool KeptServed)
{
    /// <summary>What became of the host, as a sentence's predicate.</summary>
    public string Outcome => KeptServed ? "keeps the version served before" : "is left out (it never had a good version)";
}

/// <summary>A route configuration with its broken virtual hosts held out, and those hosts.</summary>
/// <param name="Resource">The route configuration to publish.</param>
/// <param name="Excluded">The hosts held out (empty when the translated configuration is published as it is).</param>
internal sealed record IsolatedRoutes(XdsResource Resource, IReadOnlyList<ExcludedHost> Excluded);

/// <summary>
/// Keeps one broken virtual host from holding back the rest of its route configuration: a host that breaks Envoy's rules,
/// or sends to a cluster the snapshot will not hold, is replaced by the host of the same name in the configuration served
/// now (every served host passed) when that one's clusters are all there, and left out otherwise; every other host is the
/// translated one. The result is versioned by its content like any assembled configuration, so replicas that served the
/// same hosts agree. Pure: the caller says which hosts break the rules and which clusters the snapshot will hold.
/// </summary>
/// <param name="facts">Names and clusters of hosts' bytes.</param>
internal sealed class VirtualHostIsolation(VirtualHostFacts facts)
{
    /// <summary>
    /// <paramref name="translated"/> (assembled from parts) with its broken hosts held out.
    /// </summary>
    /// <param name="translated">The route configuration translation made; must have <see cref="XdsResource.Parts"/>.</param>
    /// <param name="broken">The hosts that break Envoy's rules, by index in the parts, with the violations in words.</param>
    /// <param name="clusterPublished">Whether a cluster will be in the snapshot this configuration goes into.</param>
    /// <param name="served">The configuration of the same name served now, if any.</param>
    public IsolatedRoutes Isolate(XdsResource translated, IReadOnlyDictionary<int, string> broken, Func<string, bool> clusterPublished, XdsResource? served)
    {
        ArgumentNullException.ThrowIfNull(translated);
        var parts = translated.Parts ?? throw new ArgumentException("Only a route configuration assembled from its virtual hosts can be isolated.", nameof(translated));
        var missing = translated.References.Clusters.Where(name => !clusterPublished(name)).ToHashSet(StringComparer.Ordinal);
        var excluded = new Dictionary<int, string>(broken);
        if (missing.Count > 0)
        {
            for (var i = 0; i < parts.VirtualHosts.Count; i++)
            {
                if (!excluded.ContainsKey(i) && facts.ClustersOf(parts.VirtualHosts[i]).Where(missing.Contains).ToArray() is { Length: > 0 } absent)
                {
                    excluded[i] = $"sends to {Clusters(absent)}, which the snapshot will not hold (it breaks Envoy's rules or is gone)";
                }
            }
        }

        if (excluded.Count == 0)
        {
            return new IsolatedRoutes(translated, []);
        }

        var servedHosts = ServedHosts(served, [.. excluded.Keys.Select(i => facts.NameOf(parts.VirtualHosts[i]))]);
        var hosts = new List<ByteString>(parts.VirtualHosts.Count);
        var clusters = new SortedSet<string>(translated.References.Clusters.Where(name => !missing.Contains(name)), StringComparer.Ordinal);
        var held = new List<ExcludedHost>(excluded.Count);
        for (var i = 0; i < parts.VirtualHosts.Count; i++)
        {
            if (!excluded.TryGetValue(i, out var reason))
            {
                hosts.Add(parts.VirtualHosts[i]);
                continue;
            }

            var name = facts.NameOf(parts.VirtualHosts[i]);
            var keep = servedHosts.TryGetValue(name, out var previous) && facts.ClustersOf(previous).All(clusterPublished);
            if (keep)
            {
                hosts.Add(previous!);
                clusters.UnionWith(facts.ClustersOf(previous!));
            }

            held.Add(new ExcludedHost(name, reason, keep));
        }

        var references = new ResourceReferences([], [.. clusters], [], []);
        return new IsolatedRoutes(XdsResource.CreateRouteConfiguration(translated.Name, hosts, version: null, references), held);
    }

    /// <summary>The served hosts named in <paramref name="names"/>, by name.</summary>
    private Dictionary<string, ByteString> ServedHosts(XdsResource? served, HashSet<string> names)
    {
        var found = new Dictionary<string, ByteString>(StringComparer.Ordinal);
        foreach (var host in served?.Parts?.VirtualHosts ?? [])
        {
            var name = facts.NameOf(host);
            if (names.Contains(name))
            {
                found.TryAdd(name, host);
            }
        }

        return found;
    }

    private static string Clusters(string[] names) => names.Length == 1 ? $"cluster '{names[0]}'" : $"clusters {string.Join(", ", names.Select(n => $"'{n}'"))}";
}
