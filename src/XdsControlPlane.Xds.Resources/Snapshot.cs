using System.Collections.Concurrent;
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
    private readonly ConcurrentDictionary<SelectionKey, Selection> _selections = new();

    private Snapshot(FrozenDictionary<string, FrozenDictionary<string, XdsResource>> byType, string version)
    {
        _byType = byType;
        Version = version;
    }

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

    /// <summary>
    /// The resources of <paramref name="typeUrl"/> a subscription selects (all of them for a wildcard, plus or only
    /// <paramref name="names"/>) and a version derived from their names and versions. Computed once per snapshot and
    /// subscription, and shared by every stream with the same subscription.
    /// </summary>
    internal Selection Select(string typeUrl, bool wildcard, SubscriptionNames names) =>
        _selections.GetOrAdd(new SelectionKey(typeUrl, wildcard, names), static (key, snapshot) => snapshot.Compute(key), this);

    private Selection Compute(SelectionKey key)
    {
        var all = Resources(key.TypeUrl);
        var selected = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
        foreach (var name in key.Wildcard ? all.Keys.Concat(key.Names.Names) : key.Names.Names)
        {
            if (all.TryGetValue(name, out var resource))
            {
                selected[name] = resource;
            }
        }

        return Selection.Of(selected);
    }

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

/// <summary>A set of resource names, compared by content, usable as a cache key.</summary>
internal sealed class SubscriptionNames : IEquatable<SubscriptionNames>
{
    private readonly int _hash;

    public SubscriptionNames(IEnumerable<string> names)
    {
        Names = names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var hash = default(HashCode);
        foreach (var name in Names)
        {
            hash.Add(name, StringComparer.Ordinal);
        }

        _hash = hash.ToHashCode();
    }

    public static SubscriptionNames None { get; } = new([]);

    public IReadOnlyList<string> Names { get; }

    public bool Contains(string name) => Names is string[] sorted && Array.BinarySearch(sorted, name, StringComparer.Ordinal) >= 0;

    /// <summary>
    /// True when <paramref name="requested"/>, in any order and without <c>*</c>, is exactly this set: each name once,
    /// none missing. Allocates nothing for up to 1,024 names.
    /// </summary>
    public bool SameAs(IReadOnlyCollection<string> requested)
    {
        if (requested.Count != Names.Count || Names is not string[] sorted)
        {
            return false;
        }

        Span<bool> seen = sorted.Length <= 1024 ? stackalloc bool[sorted.Length] : new bool[sorted.Length];
        foreach (var name in requested)
        {
            var index = Array.BinarySearch(sorted, name, StringComparer.Ordinal);
            if (index < 0 || seen[index])
            {
                return false; // not in the set, or named twice (so another one is missing)
            }

            seen[index] = true;
        }

        return true;
    }

    public bool Equals(SubscriptionNames? other) =>
        other is not null && other._hash == _hash && other.Names.SequenceEqual(Names, StringComparer.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as SubscriptionNames);

    public override int GetHashCode() => _hash;
}

/// <summary>Which resources of which type a subscription selects.</summary>
internal readonly record struct SelectionKey(string TypeUrl, bool Wildcard, SubscriptionNames Names);

/// <summary>The resources a subscription selects, and the <c>version_info</c> of a response carrying exactly them.</summary>
internal sealed record Selection(IReadOnlyDictionary<string, XdsResource> Resources, string Version)
{
    private Google.Protobuf.WellKnownTypes.Any[]? _ordered;

    /// <summary>The packed resources ordered by name: the body of every response carrying this selection, built once.</summary>
    public IReadOnlyList<Google.Protobuf.WellKnownTypes.Any> Ordered =>
        _ordered ??= [.. Resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => r.Packed)];

    public static Selection Of(IReadOnlyDictionary<string, XdsResource> resources)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var resource in resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(resource.Name));
            hash.AppendData("\n"u8);
            hash.AppendData(Encoding.UTF8.GetBytes(resource.Version));
            hash.AppendData("\n"u8);
        }

        return new Selection(resources, Convert.ToHexStringLower(hash.GetHashAndReset(), 0, 8));
    }
}
