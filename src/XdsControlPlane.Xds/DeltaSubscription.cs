using System.Collections.ObjectModel;

namespace XdsControlPlane.Xds;

/// <summary>
/// One Delta stream's state for one type: subscriptions, the version of each resource the client holds, what is
/// in flight (by nonce) and what it ACKed; the rest is <see cref="TypeSubscription"/>'s.
/// </summary>
internal sealed class DeltaSubscription(string typeUrl) : TypeSubscription(typeUrl)
{
    /// <summary>Responses awaiting ACK/NACK beyond this many are forgotten (the client will not answer them).</summary>
    private const int MaxOutstanding = 32;

    private readonly Queue<string> _outstandingOrder = new();
    private IReadOnlyDictionary<string, XdsResource>? _heldCopy;
    private IReadOnlyDictionary<string, XdsResource>? _ackedCopy;

    public bool Initialized { get; set; }

    public bool Wildcard { get; set; }

    public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Name → version the client said it holds in <c>initial_resource_versions</c> and that this stream has not sent
    /// since. Together with <see cref="Held"/> (what was sent, carrying its version) that is everything the client holds;
    /// the versions of sent resources are not stored a second time.
    /// </summary>
    private Dictionary<string, string>? _initialVersions;

    /// <summary>The resources this stream sent that the client holds.</summary>
    public Dictionary<string, XdsResource> Held { get; } = new(StringComparer.Ordinal);

    /// <summary>The resources the client ACKed.</summary>
    public Dictionary<string, XdsResource> Acked { get; } = new(StringComparer.Ordinal);

    /// <summary>Subscribed names the client was told do not exist (in <c>removed_resources</c>).</summary>
    public HashSet<string> AnnouncedAbsent { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, DeltaResponseRecord> Outstanding { get; } = new(StringComparer.Ordinal);

    /// <summary>The snapshot's table of this type at the last evaluation (a new snapshot that did not touch the type shares it).</summary>
    internal object? EvaluatedTable { get; set; }

    /// <summary>A copy of <see cref="Held"/> other threads may read (the client status), made again only after it changed.</summary>
    public IReadOnlyDictionary<string, XdsResource> HeldCopy => _heldCopy ??= Copy(Held);

    /// <summary>
    /// A copy of <see cref="Acked"/> other threads may read, made again only after it changed. In sync the client has
    /// ACKed exactly what it holds, so the held copy serves for both (half the memory of an idle stream's copies).
    /// </summary>
    public IReadOnlyDictionary<string, XdsResource> AckedCopy => _ackedCopy ??= SameResources(Acked, Held) ? HeldCopy : Copy(Acked);

    /// <summary>The version of <paramref name="name"/> the client holds, if it holds it.</summary>
    public bool TryGetClientVersion(string name, out string version)
    {
        if (Held.TryGetValue(name, out var sent))
        {
            version = sent.Version;
            return true;
        }

        if (_initialVersions is not null && _initialVersions.TryGetValue(name, out var initial))
        {
            version = initial;
            return true;
        }

        version = "";
        return false;
    }

    /// <summary>Every name the client holds.</summary>
    public IEnumerable<string> ClientNames => _initialVersions is { Count: > 0 } initial ? Held.Keys.Concat(initial.Keys.Where(n => !Held.ContainsKey(n))) : Held.Keys;

    /// <summary>Records what a reconnecting client says it holds (<c>initial_resource_versions</c>).</summary>
    public void SetInitialVersion(string name, string version) => (_initialVersions ??= new(StringComparer.Ordinal))[name] = version;

    public void Forget(string name)
    {
        _initialVersions?.Remove(name);
        Held.Remove(name);
        Acked.Remove(name);
        AnnouncedAbsent.Remove(name);
        (_heldCopy, _ackedCopy) = (null, null);
    }

    public void RecordSent(string nonce, DeltaResponseRecord record)
    {
        foreach (var resource in record.Resources)
        {
            _initialVersions?.Remove(resource.Name);
            Held[resource.Name] = resource;
            AnnouncedAbsent.Remove(resource.Name);
        }

        foreach (var name in record.Removed)
        {
            _initialVersions?.Remove(name);
            Held.Remove(name);
            // Only explicitly subscribed names are remembered (a wildcard does not ask for removed names again),
            // so this set is bounded by the subscription and shrinks when names are unsubscribed.
            if (Names.Contains(name))
            {
                AnnouncedAbsent.Add(name);
            }
        }

        _heldCopy = null;
        SentVersion = record.SystemVersion;
        Outstanding[nonce] = record;
        _outstandingOrder.Enqueue(nonce);
        while (_outstandingOrder.Count > MaxOutstanding)
        {
            Outstanding.Remove(_outstandingOrder.Dequeue());
        }
    }

    public void RecordAck(DeltaResponseRecord record, DateTimeOffset at)
    {
        foreach (var resource in record.Resources)
        {
            Acked[resource.Name] = resource;
        }

        foreach (var name in record.Removed)
        {
            Acked.Remove(name);
        }

        _ackedCopy = null;
        Accepted(record.SystemVersion, at);
    }

    /// <inheritdoc />
    public override IEnumerable<XdsResource> MayBeInUse => Held.Values.Concat(Acked.Values);

    /// <summary>In sync when every response was answered, none rejected, and nothing about the subscription waits for an answer.</summary>
    protected override bool InSync => Outstanding.Count == 0 && !MustRespond && LastNack is null && SentVersion is not null;

    /// <inheritdoc />
    protected override IReadOnlyDictionary<string, XdsResource> SentShown => HeldCopy;

    /// <inheritdoc />
    protected override IReadOnlyDictionary<string, XdsResource> AckedShown => AckedCopy;

    private static bool SameResources(Dictionary<string, XdsResource> a, Dictionary<string, XdsResource> b) =>
        a.Count == b.Count && a.All(entry => b.TryGetValue(entry.Key, out var other) && ReferenceEquals(entry.Value, other));

    private static ReadOnlyDictionary<string, XdsResource> Copy(Dictionary<string, XdsResource> resources) =>
        new Dictionary<string, XdsResource>(resources, StringComparer.Ordinal).AsReadOnly();
}

/// <summary>What one Delta response carried.</summary>
/// <param name="Resources">Resources sent.</param>
/// <param name="Removed">Names in <c>removed_resources</c>.</param>
/// <param name="SystemVersion">The snapshot version it was computed from.</param>
/// <param name="PublishedAt">When that snapshot was published.</param>
internal sealed record DeltaResponseRecord(IReadOnlyList<XdsResource> Resources, IReadOnlyList<string> Removed, string SystemVersion, DateTimeOffset PublishedAt);
