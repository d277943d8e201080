namespace XdsControlPlane.Xds;

/// <summary>
/// What the stream skeleton (<see cref="XdsStream{TRequest, TResponse, TSubscription}"/>) needs of one type's
/// subscription, whatever the protocol: the State-of-the-World <see cref="SubscriptionState"/> and the Delta
/// <see cref="DeltaSubscription"/> keep their own subscription and response bookkeeping, and the skeleton applies
/// the cross-type policy (removed clusters kept while routes use them, endpoints re-sent after their clusters
/// change, ACK/NACK accounting, the client's status) through this shape once.
/// </summary>
internal interface ITypeSubscription
{
    /// <summary>The resource type.</summary>
    string TypeUrl { get; }

    /// <summary>Resources of this type the client may be using: those it ACKed and those it was sent (Envoy applies before it ACKs).</summary>
    IEnumerable<XdsResource> MayBeInUse { get; }

    /// <summary>Something besides the snapshot that decides what to send changed since the last evaluation.</summary>
    bool InputsChanged { get; set; }

    /// <summary>EDS names to re-send even when unchanged (their clusters were just updated, so Envoy warms them until it gets endpoints).</summary>
    HashSet<string> ForceResend { get; }

    /// <summary>Records the client's rejection of a response.</summary>
    void RecordNack(NackRecord nack);

    /// <summary>What the client holds of this type, for CSDS and <see cref="ClientRegistry"/>, judged against the snapshot <paramref name="snapshotVersion"/> the stream serves.</summary>
    TypeStatus StatusAgainst(string? snapshotVersion);
}
