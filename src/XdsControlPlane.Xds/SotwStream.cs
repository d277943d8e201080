using Envoy.Service.Discovery.V3;

namespace XdsControlPlane.Xds;

/// <summary>
/// The State-of-the-World protocol (ADS, or a per-type service when a fixed type is given): every response carries
/// the requested set of a type (the whole set for full-set types); ACK/NACK/stale decided by nonce; wildcard for
/// full-set types (LDS/CDS). The policy across types is the skeleton's
/// (<see cref="XdsStream{TRequest, TResponse, TSubscription}"/>).
/// </summary>
internal sealed class SotwStream(XdsStreamContext context, string? fixedTypeUrl)
    : XdsStream<DiscoveryRequest, DiscoveryResponse, SubscriptionState>(context, fixedTypeUrl, "sotw", request => request.TypeUrl, request => request.Node)
{
    protected override SubscriptionState Subscribe(string typeUrl) => new(typeUrl);

    protected override void OnRequest(DiscoveryRequest request, SubscriptionState state)
    {
        var typeUrl = state.TypeUrl;
        if (request.ResponseNonce.Length > 0 && state.LastNonce is not null && request.ResponseNonce != state.LastNonce)
        {
            XdsLog.StaleNonce(Logger, Id, typeUrl, request.ResponseNonce, state.LastNonce);
            return;
        }

        if (request.ErrorDetail is { } error)
        {
            Nacked(state, state.SentVersion, error.Message);
        }
        else if (request.ResponseNonce.Length > 0 && request.ResponseNonce == state.LastNonce && request.VersionInfo == state.SentVersion)
        {
            // An ACK names the version it accepts. After a NACK a client that changes its subscription sends the latest
            // nonce with the version it still holds and no error (Envoy does): that is a new request, not an ACK of what
            // it rejected, so the NACK stands until a response is accepted.
            state.RecordAck(Clock.GetUtcNow());
            Acked(state, state.AckedVersion, request.ResponseNonce, state.SentPublishedAt);
        }

        state.RequestedSinceEvaluation = true;
        state.ClientVersion = request.VersionInfo;
        if (state.Subscribe(request.ResourceNames))
        {
            state.MustRespond = true;
        }
    }

    /// <summary>The response this type needs now, or <see langword="null"/> when the client is up to date.</summary>
    protected override DiscoveryResponse? Evaluate(SubscriptionState state, PublishedSnapshot snapshot)
    {
        var typeUrl = state.TypeUrl;
        var requested = state.RequestedSinceEvaluation;
        state.RequestedSinceEvaluation = false;
        var mayForce = requested && state.ForceResend.Count > 0;
        if (!state.MustRespond && !state.InputsChanged && !mayForce && state.EvaluatedSnapshot == snapshot.Snapshot.Version)
        {
            return null; // nothing that decides this type's response changed
        }

        // A publication that did not touch this type hands the new snapshot the same selection: nothing to compare.
        var selected = snapshot.Snapshot.Select(typeUrl, state.Wildcard, state.Names);
        var untouched = !state.MustRespond && !state.InputsChanged && !mayForce && ReferenceEquals(selected, state.EvaluatedSelection);
        state.EvaluatedSnapshot = snapshot.Snapshot.Version;
        state.EvaluatedSelection = selected;
        if (untouched)
        {
            return null;
        }

        state.InputsChanged = false;
        var selection = Desired(state, selected);
        var forced = mayForce && selection.Resources.Keys.Any(state.ForceResend.Contains);
        if (!state.MustRespond && !forced && selection.Version == state.SentVersion)
        {
            return null;
        }

        // Responses of full-set types (LDS, CDS) carry every resource (what is left out is deleted). Others (EDS, RDS)
        // may carry a subset, and clients keep what a response does not name (Envoy grpc_mux_impl.cc calls back only
        // the watches a response has resources for; gRPC keeps unnamed RDS/EDS resources), so a push after a
        // publication carries only what changed, and so does the answer to names added to a subscription when the request
        // says the client holds what it was last sent (its version_info): the added resources and what changed, not every
        // subscribed one again (a gateway that follows a new scope would otherwise get every Service's route configuration
        // once more). The first response of a type, one that must repeat warming clusters' endpoints, the first after a
        // NACK, and an answer to a client that does not hold the last response carry all; so does one that adds nothing.
        var complete = state.SentVersion is null || forced || state.LastNack is not null || state.Type is { SotwFullSet: true }
            || (state.MustRespond && state.ClientVersion != state.SentVersion);
        var before = state.Sent;
        state.MustRespond = false;

        // Every response after the cluster update reaches the client after it (one ordered stream) and carries
        // every subscribed name, so the warming clusters have their endpoints: whether it answers Envoy's request
        // for them or was pushed right behind the CDS response in the same round.
        state.ForceResend.Clear();

        ReferencedFollow(state, state.Sent, selection.Resources.Values);
        var nonce = NextNonce();
        state.RecordSent(nonce, selection.Version, selection.Resources, snapshot.PublishedAt);
        if (!state.Wildcard && state.Names.Names.Count == 0)
        {
            // The client dropped every name of this type. Envoy accepts the empty answer without ACKing it
            // (it has no watch left: envoyproxy/envoy grpc_mux_impl.cc GrpcMuxImpl::onDiscoveryResponse), so count it
            // as held now, or the type would never look in sync.
            state.RecordAck(Clock.GetUtcNow());
        }

        HeldChanged(state);
        var response = new DiscoveryResponse { VersionInfo = selection.Version, TypeUrl = typeUrl, Nonce = nonce };
        response.Resources.AddRange(complete ? selection.Ordered : ChangedSince(before, selection));

        return response;
    }

    protected override void OnSent(DiscoveryResponse response)
    {
        Metrics.Pushed(response.TypeUrl, response.CalculateSize());
        XdsLog.Sent(Logger, Id, response.TypeUrl, response.VersionInfo, response.Resources.Count, response.Nonce);
    }

    /// <summary>The resources of <paramref name="selection"/> that <paramref name="sent"/> lacks or has another version of, by name (all of them when none is).</summary>
    private static IReadOnlyList<Google.Protobuf.WellKnownTypes.Any> ChangedSince(IReadOnlyDictionary<string, XdsResource> sent, Selection selection)
    {
        var changed = selection.Resources.Values
            .Where(r => !sent.TryGetValue(r.Name, out var held) || held.Version != r.Version)
            .OrderBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => r.Packed)
            .ToArray();

        // Only names left the selection: nothing to add, and SotW cannot say "removed" for these types; repeat all.
        return changed.Length > 0 ? changed : selection.Ordered;
    }

    /// <summary>
    /// The resources the client should hold: the snapshot's <paramref name="selection"/> for its subscription, and
    /// for a type kept while referenced (CDS) also the removed resources that what the client holds still refers to,
    /// so a cluster goes only after the routes that used it are gone.
    /// </summary>
    private Selection Desired(SubscriptionState state, Selection selection)
    {
        if (state.Type is not { KeptWhileReferenced: true } kept || state.Sent.Keys.All(selection.Resources.ContainsKey))
        {
            return selection; // only resources sent before can be retained, and all of them are still selected
        }

        var retained = InUse(kept)
            .Where(name => !selection.Resources.ContainsKey(name) && (state.Wildcard || state.Names.Contains(name)))
            .Select(name => state.Sent.GetValueOrDefault(name))
            .OfType<XdsResource>()
            .ToArray();
        if (retained.Length == 0)
        {
            return selection;
        }

        var withRetained = new Dictionary<string, XdsResource>(selection.Resources, StringComparer.Ordinal);
        foreach (var cluster in retained)
        {
            withRetained[cluster.Name] = cluster;
        }

        return Selection.Of(withRetained);
    }
}
