using System.Collections.Frozen;
using Envoy.Service.Discovery.V3;

namespace XdsControlPlane.Xds;

/// <summary>
/// The Delta (incremental) protocol: per-resource versions, only changed resources sent, removals listed in
/// <c>removed_resources</c>, <c>initial_resource_versions</c> honoured on reconnect, and subscription changes applied
/// even when the request's nonce is stale. The policy across types is the skeleton's
/// (<see cref="XdsStream{TRequest, TResponse, TSubscription}"/>).
/// </summary>
internal sealed class DeltaStream(XdsStreamContext context, string? fixedTypeUrl)
    : XdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse, DeltaSubscription>(context, fixedTypeUrl, "delta", request => request.TypeUrl, request => request.Node)
{
    protected override DeltaSubscription Subscribe(string typeUrl) => new(typeUrl);

    protected override void OnRequest(DeltaDiscoveryRequest request, DeltaSubscription state)
    {
        var typeUrl = state.TypeUrl;
        if (!state.Initialized)
        {
            state.Initialized = true;
            foreach (var (name, version) in request.InitialResourceVersions)
            {
                state.SetInitialVersion(name, version);
            }

            state.Wildcard = request.ResourceNamesSubscribe.Count == 0 && state.Type is { SotwFullSet: true };
        }

        // Subscription changes count whatever the nonce says.
        state.InputsChanged |= request.ResourceNamesSubscribe.Count > 0 || request.ResourceNamesUnsubscribe.Count > 0;
        foreach (var name in request.ResourceNamesUnsubscribe)
        {
            if (name == "*")
            {
                state.Wildcard = false;
            }
            else
            {
                state.Names.Remove(name);
                state.Forget(name);
                HeldChanged(state); // dropped routes may free clusters CDS was keeping
            }
        }

        foreach (var name in request.ResourceNamesSubscribe)
        {
            if (name == "*")
            {
                state.MustRespond |= !state.Wildcard;
                state.Wildcard = true;
            }
            else
            {
                state.MustRespond |= state.Names.Add(name);
            }
        }

        if (request.ResponseNonce.Length == 0)
        {
            return;
        }

        if (!state.Outstanding.Remove(request.ResponseNonce, out var answered))
        {
            XdsLog.StaleNonce(Logger, Id, typeUrl, request.ResponseNonce, null);
        }
        else if (request.ErrorDetail is { } error)
        {
            Nacked(state, answered.SystemVersion, error.Message);
        }
        else
        {
            state.RecordAck(answered, Clock.GetUtcNow());
            Acked(state, answered.SystemVersion, request.ResponseNonce, answered.PublishedAt);
        }
    }

    protected override DeltaDiscoveryResponse? Evaluate(DeltaSubscription state, PublishedSnapshot snapshot)
    {
        var typeUrl = state.TypeUrl;
        if (!state.MustRespond && !state.InputsChanged && state.ForceResend.Count == 0 && state.EvaluatedSnapshot == snapshot.Snapshot.Version)
        {
            return null; // nothing that decides this type's response changed
        }

        // A publication that did not touch this type hands the new snapshot the same table: nothing to compare.
        var all = snapshot.Snapshot.Resources(typeUrl);
        var untouched = !state.MustRespond && !state.InputsChanged && state.ForceResend.Count == 0 && ReferenceEquals(all, state.EvaluatedTable);
        state.EvaluatedSnapshot = snapshot.Snapshot.Version;
        state.EvaluatedTable = all;
        if (untouched)
        {
            return null;
        }

        state.InputsChanged = false;
        var wanted = state.Wildcard ? all.Keys.Concat(state.Names.Where(name => !all.ContainsKey(name))) : state.Names; // each name once, without a set

        var toSend = new List<XdsResource>();
        var absent = new List<string>();
        foreach (var name in wanted)
        {
            if (all.TryGetValue(name, out var resource))
            {
                if (!state.TryGetClientVersion(name, out var held) || held != resource.Version || state.ForceResend.Contains(name))
                {
                    toSend.Add(resource);
                }
            }
            else if (!state.TryGetClientVersion(name, out _) && !state.AnnouncedAbsent.Contains(name))
            {
                absent.Add(name);
            }
        }

        var gone = state.ClientNames.Where(name => !all.ContainsKey(name)).ToArray();
        var inUse = state.Type is { KeptWhileReferenced: true } kept && gone.Length > 0 ? InUse(kept) : FrozenSet<string>.Empty; // only then worth computing
        var removed = gone.Where(name => !inUse.Contains(name)).Concat(absent).Order(StringComparer.Ordinal).ToArray();
        state.ForceResend.Clear();
        if (toSend.Count == 0 && removed.Length == 0 && !state.MustRespond)
        {
            return null;
        }

        state.MustRespond = false;
        toSend.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        ReferencedFollow(state, state.Held, toSend);
        var nonce = NextNonce();
        state.RecordSent(nonce, new DeltaResponseRecord(toSend, removed, snapshot.Snapshot.Version, snapshot.PublishedAt));
        HeldChanged(state);
        var response = new DeltaDiscoveryResponse { SystemVersionInfo = snapshot.Snapshot.Version, TypeUrl = typeUrl, Nonce = nonce, RemovedResources = { removed } };
        response.Resources.AddRange(toSend.Select(r => r.DeltaResource));

        return response;
    }

    protected override void OnSent(DeltaDiscoveryResponse response)
    {
        Metrics.Pushed(response.TypeUrl, response.CalculateSize());
        XdsLog.Sent(Logger, Id, response.TypeUrl, response.SystemVersionInfo, response.Resources.Count, response.Nonce);
    }
}
