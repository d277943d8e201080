using System.Collections.Frozen;

namespace XdsControlPlane.Xds;

/// <summary>
/// One stream's state for one resource type: what the client subscribed to, what was last sent (nonce, version,
/// resources), what it ACKed, and its last NACK. Owned by the stream's processing loop; never shared.
/// </summary>
internal sealed class SubscriptionState(string typeUrl) : ITypeSubscription
{
    private static readonly IReadOnlyDictionary<string, XdsResource> Nothing = FrozenDictionary<string, XdsResource>.Empty;

    public string TypeUrl { get; } = typeUrl;

    /// <summary>All resources of the type (legacy empty first request, or <c>*</c>).</summary>
    public bool Wildcard { get; private set; }

    /// <summary>Explicitly requested names (besides the wildcard).</summary>
    public SubscriptionNames Names { get; private set; } = SubscriptionNames.None;

    /// <summary>The client has named resources at least once, so an empty list now means "none".</summary>
    public bool NamedEver { get; private set; }

    public string? LastNonce { get; private set; }

    /// <summary><c>version_info</c> of the last response: a hash of the names and versions it carried.</summary>
    public string? LastVersion { get; private set; }

    /// <summary>The resources of the last response, by name.</summary>
    public IReadOnlyDictionary<string, XdsResource> Sent { get; private set; } = Nothing;

    /// <summary>The resources of the last response the client ACKed.</summary>
    public IReadOnlyDictionary<string, XdsResource> Acked { get; private set; } = Nothing;

    public string? AckedVersion { get; private set; }

    public NackRecord? LastNack { get; private set; }

    /// <summary>The client sent a (non-stale) request for this type since the last evaluation.</summary>
    public bool RequestedSinceEvaluation { get; set; }

    /// <summary>Something about the subscription changed that must be answered even if the content did not.</summary>
    public bool MustRespond { get; set; } = true;

    /// <summary>The snapshot version this type was last evaluated against.</summary>
    public string? EvaluatedSnapshot { get; set; }

    /// <summary>Something besides the snapshot that decides what to send changed since the last evaluation.</summary>
    public bool InputsChanged { get; set; }

    /// <summary>The snapshot's selection for this subscription at the last evaluation (a new snapshot that did not touch the type shares it).</summary>
    internal object? EvaluatedSelection { get; set; }

    /// <summary>EDS names to re-send on the next EDS request even when unchanged (their clusters were just updated).</summary>
    public HashSet<string> ForceResend { get; } = new(StringComparer.Ordinal);

    /// <summary>Applies the names of a request; returns true when the subscription changed.</summary>
    public bool Subscribe(IReadOnlyCollection<string> names, bool wildcardCapable)
    {
        var wildcard = names.Contains("*") || (names.Count == 0 && wildcardCapable && !NamedEver);
        if (wildcard == Wildcard && Names.SameAs(names))
        {
            return false; // an ACK repeats the names: no need to sort them again
        }

        var explicitNames = new SubscriptionNames(names.Where(n => n != "*"));
        var changed = wildcard != Wildcard || !explicitNames.Equals(Names);
        Wildcard = wildcard;
        Names = explicitNames;
        NamedEver |= explicitNames.Names.Count > 0;
        return changed;
    }

    /// <summary>When the snapshot the last response was built from was published.</summary>
    public DateTimeOffset SentPublishedAt { get; private set; }

    public void RecordSent(string nonce, string version, IReadOnlyDictionary<string, XdsResource> resources, DateTimeOffset publishedAt)
    {
        LastNonce = nonce;
        LastVersion = version;
        Sent = resources;
        SentPublishedAt = publishedAt;
    }

    /// <summary>When the client last ACKed a response of this type.</summary>
    public DateTimeOffset? AckedAt { get; private set; }

    /// <summary>The client accepted the last response at <paramref name="at"/>.</summary>
    public void RecordAck(DateTimeOffset at)
    {
        AckedAt = at;
        AckedVersion = LastVersion;
        Acked = Sent;
        LastNack = null;
    }

    public void RecordNack(NackRecord nack) => LastNack = nack;

    /// <inheritdoc />
    public IEnumerable<XdsResource> MayBeInUse => Acked.Values.Concat(Sent.Values);

    /// <summary>In sync when the last response was ACKed and nothing about the subscription waits for an answer.</summary>
    public TypeStatus StatusAgainst(string? snapshotVersion) => new(
        TypeUrl,
        LastVersion,
        AckedVersion,
        LastNack,
        Sent,
        Acked,
        LastVersion is not null && AckedVersion == LastVersion && !MustRespond ? snapshotVersion : null,
        AckedAt);
}

/// <summary>A rejected response: which version, the client's error message, and when.</summary>
/// <param name="Version">The <c>version_info</c> the client rejected.</param>
/// <param name="Message">The client's <c>error_detail.message</c>, on one line and capped (see <see cref="FromClient"/>).</param>
/// <param name="At">When the NACK arrived.</param>
public sealed record NackRecord(string? Version, string Message, DateTimeOffset At)
{
    /// <summary>
    /// A NACK as the client sent it: its message is kept on one line, with control characters replaced, and cut at
    /// <see cref="ClientText.MaxMessageLength"/> characters, so one client's huge or hostile text can neither fill
    /// memory nor break CSDS answers, terminals and logs.
    /// </summary>
    public static NackRecord FromClient(string? version, string? clientMessage, DateTimeOffset at) =>
        new(version, ClientText.OneLine(clientMessage, ClientText.MaxMessageLength), at);
}
