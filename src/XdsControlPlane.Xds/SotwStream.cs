using System.Globalization;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;

namespace XdsControlPlane.Xds;

/// <summary>
/// The State-of-the-World protocol (ADS, or a per-type service when a fixed type is given): every response carries
/// the whole requested set of a type; ACK/NACK/stale decided by nonce; wildcard for LDS/CDS.
/// </summary>
internal sealed class SotwStream(XdsStreamContext context, string? fixedTypeUrl)
    : XdsStream<DiscoveryRequest, DiscoveryResponse>(context, fixedTypeUrl)
{
    private readonly Dictionary<string, SubscriptionState> _types = new(StringComparer.Ordinal);
    private long _nonce;

    protected override string Protocol => "sotw";

    protected override string TypeUrlOf(DiscoveryRequest request) => request.TypeUrl;

    protected override Node? NodeOf(DiscoveryRequest request) => request.Node;

    protected override IEnumerable<string> TypesInPushOrder() => InPushOrder(_types.Keys);

    protected override void OnRequest(DiscoveryRequest request)
    {
        var typeUrl = TypeOf(request);
        if (!_types.TryGetValue(typeUrl, out var state))
        {
            _types[typeUrl] = state = new SubscriptionState(typeUrl);
        }

        if (request.ResponseNonce.Length > 0 && state.LastNonce is not null && request.ResponseNonce != state.LastNonce)
        {
            XdsLog.StaleNonce(Logger, Id, typeUrl, request.ResponseNonce, state.LastNonce);
            return;
        }

        if (request.ErrorDetail is { } error)
        {
            var nack = NackRecord.FromClient(state.LastVersion, error.Message, Clock.GetUtcNow());
            state.RecordNack(nack);
            Metrics.Nacked(typeUrl);
            XdsLog.Nack(Logger, Node!.Id, Id, typeUrl, nack.Version, nack.Message);
        }
        else if (request.ResponseNonce.Length > 0 && request.ResponseNonce == state.LastNonce)
        {
            state.RecordAck(Clock.GetUtcNow());
            RoutesOrListenersChanged(typeUrl);
            Metrics.Acked(typeUrl, Clock.GetUtcNow() - state.SentPublishedAt);
        }

        state.RequestedSinceEvaluation = true;
        if (state.Subscribe(request.ResourceNames, TypeUrls.IsWildcardCapable(typeUrl)))
        {
            state.MustRespond = true;
        }
    }

    /// <summary>The response this type needs now, or <see langword="null"/> when the client is up to date.</summary>
    protected override DiscoveryResponse? Evaluate(string typeUrl, PublishedSnapshot snapshot)
    {
        var state = _types[typeUrl];
        var requested = state.RequestedSinceEvaluation;
        state.RequestedSinceEvaluation = false;
        var mayForce = requested && state.ForceResend.Count > 0;
        if (!state.MustRespond && !state.InputsChanged && !mayForce && state.EvaluatedSnapshot == snapshot.Snapshot.Version)
        {
            return null; // nothing that decides this type's response changed
        }

        state.EvaluatedSnapshot = snapshot.Snapshot.Version;
        state.InputsChanged = false;
        var selection = Desired(state, snapshot.Snapshot);
        var forced = mayForce && selection.Resources.Keys.Any(state.ForceResend.Contains);
        if (!state.MustRespond && !forced && selection.Version == state.LastVersion)
        {
            return null;
        }

        state.MustRespond = false;

        // Every response after the cluster update reaches the client after it (one ordered stream) and carries
        // every subscribed name, so the warming clusters have their endpoints: whether it answers Envoy's request
        // for them or was pushed right behind the CDS response in the same round.
        state.ForceResend.Clear();

        if (typeUrl == TypeUrls.Cluster && _types.TryGetValue(TypeUrls.ClusterLoadAssignment, out var endpoints))
        {
            // Envoy warms an updated EDS cluster until it receives endpoints for it, even unchanged ones.
            endpoints.ForceResend.UnionWith(ClusterChanges.EdsNamesOfChanged(state.Sent, selection.Resources));
        }

        var nonce = (++_nonce).ToString(CultureInfo.InvariantCulture);
        state.RecordSent(nonce, selection.Version, selection.Resources, snapshot.PublishedAt);
        if (!state.Wildcard && state.Names.Names.Count == 0)
        {
            // The client dropped every name of this type. Envoy accepts the empty answer without ACKing it
            // (it has no watch left), so count it as held now, or the type would never look in sync.
            state.RecordAck(Clock.GetUtcNow());
        }

        RoutesOrListenersChanged(typeUrl);
        var response = new DiscoveryResponse { VersionInfo = selection.Version, TypeUrl = typeUrl, Nonce = nonce };
        response.Resources.AddRange(selection.Ordered);

        return response;
    }

    protected override IReadOnlyList<TypeStatus> StatusOfTypes()
    {
        var snapshotVersion = Current?.Snapshot.Version;
        return _types.Values.OrderBy(t => t.TypeUrl, StringComparer.Ordinal).Select(t => new TypeStatus(
            t.TypeUrl,
            t.LastVersion,
            t.AckedVersion,
            t.LastNack,
            t.Sent,
            t.Acked,
            t.LastVersion is not null && t.AckedVersion == t.LastVersion && !t.MustRespond ? snapshotVersion : null,
            t.AckedAt)).ToArray();
    }

    protected override void OnSent(DiscoveryResponse response)
    {
        Metrics.Pushed(response.TypeUrl, response.CalculateSize());
        XdsLog.Sent(Logger, Id, response.TypeUrl, response.VersionInfo, response.Resources.Count, response.Nonce);
    }

    /// <summary>
    /// The resources the client should hold: the requested (or all, for a wildcard) resources of the snapshot, and
    /// for CDS also the removed clusters that routes or listeners the client holds still point at, so a cluster
    /// goes only after the routes that used it are gone.
    /// </summary>
    private Selection Desired(SubscriptionState state, Snapshot snapshot)
    {
        var selection = snapshot.Select(state.TypeUrl, state.Wildcard, state.Names);
        if (state.TypeUrl != TypeUrls.Cluster || state.Sent.Keys.All(selection.Resources.ContainsKey))
        {
            return selection; // only clusters sent before can be retained, and all of them are still selected
        }

        var retained = ResourceReferences.ClustersUsedBy(Held(TypeUrls.RouteConfiguration).Concat(Held(TypeUrls.Listener)))
            .Where(name => !selection.Resources.ContainsKey(name) && (state.Wildcard || state.Names.Contains(name)))
            .Select(name => state.Sent.GetValueOrDefault(name))
            .OfType<XdsResource>()
            .DistinctBy(r => r.Name)
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

    /// <summary>What the client holds of routes and listeners decides which removed clusters CDS keeps.</summary>
    private void RoutesOrListenersChanged(string typeUrl)
    {
        if (typeUrl is TypeUrls.RouteConfiguration or TypeUrls.Listener && _types.TryGetValue(TypeUrls.Cluster, out var clusters))
        {
            clusters.InputsChanged = true;
        }
    }

    /// <summary>Resources the client may be using: those it ACKed and those it was sent (Envoy applies before it ACKs).</summary>
    private IEnumerable<XdsResource> Held(string typeUrl) =>
        _types.TryGetValue(typeUrl, out var state) ? state.Acked.Values.Concat(state.Sent.Values) : [];
}
