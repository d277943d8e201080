using System.Collections.Frozen;

namespace XdsControlPlane.Xds;

/// <summary>
/// One State-of-the-World stream's state for one resource type: what the client subscribed to, what was last sent
/// (nonce, version, resources) and what it ACKed; the rest is <see cref="TypeSubscription"/>'s.
/// </summary>
internal sealed class SubscriptionState(string typeUrl) : TypeSubscription(typeUrl)
{
    private static readonly IReadOnlyDictionary<string, XdsResource> Nothing = FrozenDictionary<string, XdsResource>.Empty;

    /// <summary>All resources of the type (legacy empty first request, or <c>*</c>).</summary>
    public bool Wildcard { get; private set; }

    /// <summary>Explicitly requested names (besides the wildcard).</summary>
    public SubscriptionNames Names { get; private set; } = SubscriptionNames.None;

    /// <summary>The client has named resources at least once, so an empty list now means "none".</summary>
    public bool NamedEver { get; private set; }

    public string? LastNonce { get; private set; }

    /// <summary>The resources of the last response, by name.</summary>
    public IReadOnlyDictionary<string, XdsResource> Sent { get; private set; } = Nothing;

    /// <summary>The resources of the last response the client ACKed.</summary>
    public IReadOnlyDictionary<string, XdsResource> Acked { get; private set; } = Nothing;

    /// <summary>The <c>version_info</c> of the client's latest request for this type that was not stale: the version it says it holds.</summary>
    public string? ClientVersion { get; set; }

    /// <summary>The client sent a (non-stale) request for this type since the last evaluation.</summary>
    public bool RequestedSinceEvaluation { get; set; }

    /// <summary>The snapshot's selection for this subscription at the last evaluation (a new snapshot that did not touch the type shares it).</summary>
    internal object? EvaluatedSelection { get; set; }

    /// <summary>
    /// Applies the names of a request; returns true when the subscription changed. An empty first request subscribes
    /// to all of a <see cref="XdsResourceType.SotwFullSet"/> type (the legacy wildcard).
    /// </summary>
    public bool Subscribe(IReadOnlyCollection<string> names)
    {
        var wildcard = names.Contains("*") || (names.Count == 0 && Type is { SotwFullSet: true } && !NamedEver);
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
        SentVersion = version;
        Sent = resources;
        SentPublishedAt = publishedAt;
    }

    /// <summary>The client accepted the last response at <paramref name="at"/>.</summary>
    public void RecordAck(DateTimeOffset at)
    {
        Accepted(SentVersion, at);
        Acked = Sent;
    }

    /// <inheritdoc />
    public override IEnumerable<XdsResource> MayBeInUse => Acked.Values.Concat(Sent.Values);

    /// <summary>In sync when the last response was ACKed and nothing about the subscription waits for an answer.</summary>
    protected override bool InSync => SentVersion is not null && AckedVersion == SentVersion && !MustRespond;

    /// <inheritdoc />
    protected override IReadOnlyDictionary<string, XdsResource> SentShown => Sent;

    /// <inheritdoc />
    protected override IReadOnlyDictionary<string, XdsResource> AckedShown => Acked;
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
