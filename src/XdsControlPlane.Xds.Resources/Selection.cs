namespace XdsControlPlane.Xds.Resources;

/// <summary>A set of resource names a subscription asks for, sorted and compared by content (a key of <see cref="Snapshot.Select"/>).</summary>
public sealed class SubscriptionNames : IEquatable<SubscriptionNames>
{
    private readonly int _hash;

    /// <summary>The set of <paramref name="names"/>, each once.</summary>
    public SubscriptionNames(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        Names = names.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var hash = default(HashCode);
        foreach (var name in Names)
        {
            hash.Add(name, StringComparer.Ordinal);
        }

        _hash = hash.ToHashCode();
    }

    /// <summary>No names.</summary>
    public static SubscriptionNames None { get; } = new([]);

    /// <summary>The names, each once, in ordinal order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>True when <paramref name="name"/> is in the set.</summary>
    public bool Contains(string name) => Names is string[] sorted && Array.BinarySearch(sorted, name, StringComparer.Ordinal) >= 0;

    /// <summary>
    /// True when <paramref name="requested"/>, in any order and without <c>*</c>, is exactly this set: each name once,
    /// none missing. Allocates nothing for up to 1,024 names.
    /// </summary>
    public bool SameAs(IReadOnlyCollection<string> requested)
    {
        ArgumentNullException.ThrowIfNull(requested);
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

    /// <inheritdoc />
    public bool Equals(SubscriptionNames? other) =>
        other is not null && other._hash == _hash && other.Names.SequenceEqual(Names, StringComparer.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as SubscriptionNames);

    /// <inheritdoc />
    public override int GetHashCode() => _hash;
}

/// <summary>Which resources of which type a subscription selects.</summary>
internal readonly record struct SelectionKey(string TypeUrl, bool Wildcard, SubscriptionNames Names);

/// <summary>The resources a subscription selects, and the <c>version_info</c> of a response carrying exactly them.</summary>
/// <param name="Resources">The selected resources, by name.</param>
/// <param name="Version">The content-derived version of exactly these resources.</param>
public sealed record Selection(IReadOnlyDictionary<string, XdsResource> Resources, string Version)
{
    private Google.Protobuf.WellKnownTypes.Any[]? _ordered;

    /// <summary>The packed resources ordered by name: the body of every response carrying this selection, built once.</summary>
    public IReadOnlyList<Google.Protobuf.WellKnownTypes.Any> Ordered =>
        _ordered ??= [.. Resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => r.Packed)];

    /// <summary>A selection of <paramref name="resources"/>, with their version.</summary>
    public static Selection Of(IReadOnlyDictionary<string, XdsResource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var sum = 0UL;
        foreach (var resource in resources.Values)
        {
            sum += resource.IdentityHash;
        }

        return new Selection(resources, Snapshot.VersionText(sum, resources.Count));
    }
}
