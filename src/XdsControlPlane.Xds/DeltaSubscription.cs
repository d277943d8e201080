using System.Collections.ObjectModel;

namespace XdsControlPlane.Xds;

/// <summary>
/// One Delta stream's state for one type: subscriptions, the version of each resource the client holds, what is
/// in flight (by nonce), what it ACKed, and its last NACK. Owned by the stream's processing loop.
/// </summary>
internal sealed class DeltaSubscription(string typeUrl)
{
    /// <summary>Responses awaiting ACK/NACK beyond this many are forgotten (the client will not answer them).</summary>
    private const int MaxOutstanding = 32;

    private readonly Queue<string> _outstandingOrder = new();
    private IReadOnlyDictionary<string, XdsResource>? _heldCopy;
    private IReadOnlyDictionary<string, XdsResource>? _ackedCopy;

    public string TypeUrl { get; } = typeUrl;

    public bool Initialized { get; set; }

    public bool Wildcard { get; set; }

    public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

    /// <summary>Name → version the client holds (from <c>initial_resource_versions</c> and what was sent).</summary>
    public Dictionary<string, string> ClientVersions { get; } = new(StringComparer.Ordinal);

    /// <summary>The resources this stream sent that the client holds.</summary>
    public Dictionary<string, XdsResource> Held { get; } = new(StringComparer.Ordinal);

    /// <summary>The resources the client ACKed.</summary>
    public Dictionary<string, XdsResource> Acked { get; } = new(StringComparer.Ordinal);

    /// <summary>Subscribed names the client was told do not exist (in <c>removed_resources</c>).</summary>
    public HashSet<string> AnnouncedAbsent { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, DeltaResponseRecord> Outstanding { get; } = new(StringComparer.Ordinal);

    public HashSet<string> ForceResend { get; } = new(StringComparer.Ordinal);

    public bool MustRespond { get; set; } = true;

    /// <summary>The snapshot version this type was last evaluated against.</summary>
    public string? EvaluatedSnapshot { get; set; }

    /// <summary>Something besides the snapshot that decides what to send changed since the last evaluation.</summary>
    public bool InputsChanged { get; set; }

    public string? SentVersion { get; private set; }

    public string? AckedVersion { get; private set; }

    public NackRecord? LastNack { get; private set; }

    /// <summary>A copy of <see cref="Held"/> other threads may read (the client status), made again only after it changed.</summary>
    public IReadOnlyDictionary<string, XdsResource> HeldCopy => _heldCopy ??= Copy(Held);

    /// <summary>A copy of <see cref="Acked"/> other threads may read, made again only after it changed.</summary>
    public IReadOnlyDictionary<string, XdsResource> AckedCopy => _ackedCopy ??= Copy(Acked);

    public void Forget(string name)
    {
        ClientVersions.Remove(name);
        Held.Remove(name);
        Acked.Remove(name);
        AnnouncedAbsent.Remove(name);
        (_heldCopy, _ackedCopy) = (null, null);
    }

    public void RecordSent(string nonce, DeltaResponseRecord record)
    {
        foreach (var resource in record.Resources)
        {
            ClientVersions[resource.Name] = resource.Version;
            Held[resource.Name] = resource;
            AnnouncedAbsent.Remove(resource.Name);
        }

        foreach (var name in record.Removed)
        {
            ClientVersions.Remove(name);
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

    /// <summary>When the client last ACKed a response of this type.</summary>
    public DateTimeOffset? AckedAt { get; private set; }

    public void RecordAck(DeltaResponseRecord record, DateTimeOffset at)
    {
        AckedAt = at;
        foreach (var resource in record.Resources)
        {
            Acked[resource.Name] = resource;
        }

        foreach (var name in record.Removed)
        {
            Acked.Remove(name);
        }

        _ackedCopy = null;
        AckedVersion = record.SystemVersion;
        LastNack = null;
    }

    public void RecordNack(NackRecord nack) => LastNack = nack;

    private static ReadOnlyDictionary<string, XdsResource> Copy(Dictionary<string, XdsResource> resources) =>
        new Dictionary<string, XdsResource>(resources, StringComparer.Ordinal).AsReadOnly();
}

/// <summary>What one Delta response carried.</summary>
/// <param name="Resources">Resources sent.</param>
/// <param name="Removed">Names in <c>removed_resources</c>.</param>
/// <param name="SystemVersion">The snapshot version it was computed from.</param>
/// <param name="PublishedAt">When that snapshot was published.</param>
internal sealed record DeltaResponseRecord(IReadOnlyList<XdsResource> Resources, IReadOnlyList<string> Removed, string SystemVersion, DateTimeOffset PublishedAt);
