using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// What one node group is served: every resource of every type, immutable once built. Built whole by
/// <see cref="Create"/>, which rejects duplicate names, or from another snapshot by <see cref="With"/>, which costs what
/// changed: unchanged types share their tables and their computed selections. Checked by
/// <see cref="SnapshotConsistency"/> before the cache accepts it.
/// </summary>
/// <remarks>
/// The version is the sum of each resource's <see cref="XdsResource.IdentityHash"/> (type, name and version), so it is
/// content-derived, independent of order, equal on every replica for equal content, and updated per change.
/// </remarks>
public sealed class Snapshot
{
    private static readonly IReadOnlyDictionary<string, XdsResource> NoResources = FrozenDictionary<string, XdsResource>.Empty;
    private readonly Dictionary<string, Dictionary<string, XdsResource>> _byType;
    private readonly ConcurrentDictionary<SelectionKey, Selection> _selections;
    private readonly ulong _sum;
    private SnapshotDerivation? _derivation;

    private Snapshot(Dictionary<string, Dictionary<string, XdsResource>> byType, ulong sum, ConcurrentDictionary<SelectionKey, Selection> selections, SnapshotDerivation? derivation)
    {
        _byType = byType;
        _sum = sum;
        _selections = selections;
        _derivation = derivation;
        Count = byType.Values.Sum(named => named.Count);
        Version = VersionText(sum, Count);
    }

    /// <summary>Content-derived version of the whole snapshot (from every type, name and resource version).</summary>
    public string Version { get; }

    /// <summary>How many resources the snapshot holds, of all types.</summary>
    public int Count { get; }

    /// <summary>Builds a snapshot; <paramref name="resources"/> may come in any order.</summary>
    /// <exception cref="ArgumentException">Two resources of one type share a name.</exception>
    public static Snapshot Create(IEnumerable<XdsResource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var byType = new Dictionary<string, Dictionary<string, XdsResource>>(StringComparer.Ordinal);
        var sum = 0UL;
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

            sum += resource.IdentityHash;
        }

        return new Snapshot(byType, sum, new ConcurrentDictionary<SelectionKey, Selection>(), null);
    }

    /// <summary>
    /// This snapshot with <paramref name="upserts"/> added or replacing the resources of the same type and name, and
    /// <paramref name="removals"/> taken out. Costs the changes plus a copy of each changed type's table; the types no
    /// change touches are shared, with the selections already computed for them. This snapshot is not modified.
    /// </summary>
    /// <exception cref="ArgumentException">A resource is both upserted and removed, or upserted twice.</exception>
    public Snapshot With(IReadOnlyCollection<XdsResource> upserts, IReadOnlyCollection<(string TypeUrl, string Name)> removals)
    {
        ArgumentNullException.ThrowIfNull(upserts);
        ArgumentNullException.ThrowIfNull(removals);
        var byType = new Dictionary<string, Dictionary<string, XdsResource>>(_byType, StringComparer.Ordinal);
        var copied = new HashSet<string>(StringComparer.Ordinal);
        var sum = _sum;
        Dictionary<string, XdsResource> Writable(string typeUrl)
        {
            if (copied.Add(typeUrl))
            {
                byType[typeUrl] = _byType.TryGetValue(typeUrl, out var named)
                    ? new Dictionary<string, XdsResource>(named, StringComparer.Ordinal)
                    : new Dictionary<string, XdsResource>(StringComparer.Ordinal);
            }

            return byType[typeUrl];
        }

        var upserted = new HashSet<(string, string)>();
        foreach (var resource in upserts)
        {
            if (!upserted.Add((resource.TypeUrl, resource.Name)))
            {
                throw new ArgumentException($"{TypeUrls.ShortName(resource.TypeUrl)} resource '{resource.Name}' appears twice.", nameof(upserts));
            }

            var named = Writable(resource.TypeUrl);
            if (named.TryGetValue(resource.Name, out var previous))
            {
                sum -= previous.IdentityHash;
            }

            named[resource.Name] = resource;
            sum += resource.IdentityHash;
        }

        var removed = 0;
        foreach (var (typeUrl, name) in removals)
        {
            if (upserted.Contains((typeUrl, name)))
            {
                throw new ArgumentException($"{TypeUrls.ShortName(typeUrl)} resource '{name}' is both replaced and removed.", nameof(removals));
            }

            if (_byType.TryGetValue(typeUrl, out var existing) && existing.ContainsKey(name) && Writable(typeUrl).Remove(name, out var previous))
            {
                sum -= previous.IdentityHash;
                removed++;
            }
        }

        foreach (var typeUrl in copied.Where(t => byType[t].Count == 0))
        {
            byType.Remove(typeUrl);
        }

        var selections = new ConcurrentDictionary<SelectionKey, Selection>();
        foreach (var (key, selection) in _selections)
        {
            if (!copied.Contains(key.TypeUrl))
            {
                selections[key] = selection;
            }
        }

        return new Snapshot(byType, sum, selections, new SnapshotDerivation(this, [.. upserts], removed));
    }

    /// <summary>The resources of one type, by name.</summary>
    public IReadOnlyDictionary<string, XdsResource> Resources(string typeUrl) =>
        _byType.TryGetValue(typeUrl, out var named) ? named : NoResources;

    /// <summary>The resource of <paramref name="typeUrl"/> named <paramref name="name"/>, if any.</summary>
    public XdsResource? Find(string typeUrl, string name) =>
        _byType.TryGetValue(typeUrl, out var named) && named.TryGetValue(name, out var resource) ? resource : null;

    /// <summary>
    /// How this snapshot was made from another by <see cref="With"/>, handed out once (the cache checks only the
    /// changes when the base is what it serves) and then forgotten, so snapshots never keep their predecessors alive.
    /// </summary>
    internal SnapshotDerivation? TakeDerivation() => Interlocked.Exchange(ref _derivation, null);

    /// <summary>
    /// The resources of <paramref name="typeUrl"/> a subscription receives: all for a wildcard (plus explicitly named
    /// ones), else those named that exist. Computed once per snapshot and subscription, shared by every stream; a
    /// snapshot made by <see cref="With"/> hands on the selections of the types it did not change (the same instance).
    /// </summary>
    /// <param name="typeUrl">The resource type.</param>
    /// <param name="wildcard">The subscription asks for every resource of the type.</param>
    /// <param name="names">The names it asks for explicitly.</param>
    public Selection Select(string typeUrl, bool wildcard, SubscriptionNames names) =>
        _selections.GetOrAdd(new SelectionKey(typeUrl, wildcard, names), static (key, snapshot) => snapshot.Compute(key), this);

    private Selection Compute(SelectionKey key)
    {
        var all = Resources(key.TypeUrl);
        if (key.Wildcard && key.Names.Names.Count == 0)
        {
            return Selection.Of(all);
        }

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

    /// <summary>The version text of a sum of identity hashes over <paramref name="count"/> resources.</summary>
    internal static string VersionText(ulong sum, int count)
    {
        Span<byte> bytes = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, sum);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[8..], count);
        return Convert.ToHexStringLower(SHA256.HashData(bytes), 0, 8);
    }
}

/// <summary>How a snapshot was made from <paramref name="Base"/>: the resources upserted and how many were removed.</summary>
internal sealed record SnapshotDerivation(Snapshot Base, XdsResource[] Upserts, int Removed);
