using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;

namespace XdsControlPlane.Xds;

/// <summary>
/// What one node group is served: every resource of every type, immutable once built. Built by
/// <see cref="Create"/>, which rejects duplicate names; checked by <see cref="SnapshotConsistency"/> before the
/// cache accepts it.
/// </summary>
public sealed class Snapshot
{
    private static readonly FrozenDictionary<string, XdsResource> NoResources = FrozenDictionary<string, XdsResource>.Empty;
    private readonly FrozenDictionary<string, FrozenDictionary<string, XdsResource>> _byType;

    private Snapshot(FrozenDictionary<string, FrozenDictionary<string, XdsResource>> byType, string version)
    {
        _byType = byType;
        Version = version;
    }

    /// <summary>A snapshot with no resources.</summary>
    public static Snapshot Empty { get; } = Create([]);

    /// <summary>Content-derived version of the whole snapshot (hash of every type, name and resource version).</summary>
    public string Version { get; }

    /// <summary>Builds a snapshot; <paramref name="resources"/> may come in any order.</summary>
    /// <exception cref="ArgumentException">Two resources of one type share a name.</exception>
    public static Snapshot Create(IEnumerable<XdsResource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var byType = new Dictionary<string, Dictionary<string, XdsResource>>(StringComparer.Ordinal);
        foreach (var resource in resources)
        {
            if (!byType.TryGetValue(resource.TypeUrl, out var named))
            {
                byType[resource.TypeUrl] = named = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
            }

            if (!named.TryAdd(resource.Name, resource))
            {
                throw new ArgumentException($"{TypeUrls.ShortName(resource.TypeUrl)} resource '{resource.Name}' appears twice.", nameof(resources));
            }
        }

        var frozen = byType.ToFrozenDictionary(t => t.Key, t => t.Value.ToFrozenDictionary(StringComparer.Ordinal), StringComparer.Ordinal);
        return new Snapshot(frozen, VersionOf(frozen));
    }

    /// <summary>The resources of one type, by name (empty when the snapshot has none).</summary>
    public IReadOnlyDictionary<string, XdsResource> Resources(string typeUrl) =>
        _byType.TryGetValue(typeUrl, out var named) ? named : NoResources;

    /// <summary>The resource of <paramref name="typeUrl"/> named <paramref name="name"/>, if present.</summary>
    public XdsResource? Find(string typeUrl, string name) =>
        _byType.TryGetValue(typeUrl, out var named) && named.TryGetValue(name, out var resource) ? resource : null;

    /// <summary>Total number of resources.</summary>
    public int Count => _byType.Values.Sum(named => named.Count);

    private static string VersionOf(FrozenDictionary<string, FrozenDictionary<string, XdsResource>> byType)
    {
        var text = new StringBuilder();
        foreach (var (type, named) in byType.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            foreach (var (name, resource) in named.OrderBy(n => n.Key, StringComparer.Ordinal))
            {
                text.Append(type).Append('\n').Append(name).Append('\n').Append(resource.Version).Append('\n');
            }
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())), 0, 8);
    }
}
