namespace XdsControlPlane.Xds;

/// <summary>
/// One stream's state for one resource type, what both protocols keep alike: the type and its entry in
/// <see cref="XdsResourceTypes"/>, whether something waits for an answer, the last evaluation, the names to re-send,
/// the last NACK and the last ACK. The State-of-the-World <see cref="SubscriptionState"/> and the Delta
/// <see cref="DeltaSubscription"/> add their own subscription and response bookkeeping; the skeleton
/// (<see cref="XdsStream{TRequest, TResponse, TSubscription}"/>) applies the policy across types through this shape
/// once. Owned by the stream's processing loop; never shared.
/// </summary>
internal abstract class TypeSubscription(string typeUrl)
{
    /// <summary>The resource type.</summary>
    public string TypeUrl { get; } = typeUrl;

    /// <summary>The type's entry, or <see langword="null"/> for a type this server does not distribute.</summary>
    public XdsResourceType? Type { get; } = XdsResourceTypes.Find(typeUrl);

    /// <summary>Something about the subscription changed that must be answered even if the content did not.</summary>
    public bool MustRespond { get; set; } = true;

    /// <summary>The snapshot version this type was last evaluated against.</summary>
    public string? EvaluatedSnapshot { get; set; }

    /// <summary>Something besides the snapshot that decides what to send changed since the last evaluation.</summary>
    public bool InputsChanged { get; set; }

    /// <summary>Names to re-send even when unchanged: resources that refer to them were just updated (EDS after CDS, see <see cref="TypeReference.ResentAfterReferrerChanges"/>).</summary>
    public HashSet<string> ForceResend { get; } = new(StringComparer.Ordinal);

    /// <summary>The version of the last response sent: SotW <c>version_info</c>, Delta <c>system_version_info</c>.</summary>
    public string? SentVersion { get; protected set; }

    /// <summary>The version of the last response the client ACKed.</summary>
    public string? AckedVersion { get; private set; }

    /// <summary>The client's last rejection since its last ACK, if any.</summary>
    public NackRecord? LastNack { get; private set; }

    /// <summary>When the client last ACKed a response of this type.</summary>
    public DateTimeOffset? AckedAt { get; private set; }

    /// <summary>Resources of this type the client may be using: those it ACKed and those it was sent (Envoy applies before it ACKs).</summary>
    public abstract IEnumerable<XdsResource> MayBeInUse { get; }

    /// <summary>Records the client's rejection of a response.</summary>
    public void RecordNack(NackRecord nack) => LastNack = nack;

    /// <summary>
    /// What the client holds of this type, for CSDS and <see cref="ClientRegistry"/>, judged against the snapshot
    /// <paramref name="snapshotVersion"/> the stream serves: in sync with it when <see cref="InSync"/>.
    /// </summary>
    public TypeStatus StatusAgainst(string? snapshotVersion) =>
        new(TypeUrl, SentVersion, AckedVersion, LastNack, SentShown, AckedShown, InSync ? snapshotVersion : null, AckedAt);

    /// <summary>The client holds what it was last sent and nothing waits for an answer.</summary>
    protected abstract bool InSync { get; }

    /// <summary>What the client was sent, by name, as other threads may read it (immutable, or a copy).</summary>
    protected abstract IReadOnlyDictionary<string, XdsResource> SentShown { get; }

    /// <summary>What the client ACKed, by name, as other threads may read it (immutable, or a copy).</summary>
    protected abstract IReadOnlyDictionary<string, XdsResource> AckedShown { get; }

    /// <summary>The client accepted the response of <paramref name="version"/> at <paramref name="at"/>: the last NACK no longer stands.</summary>
    protected void Accepted(string? version, DateTimeOffset at)
    {
        AckedAt = at;
        AckedVersion = version;
        LastNack = null;
    }
}
