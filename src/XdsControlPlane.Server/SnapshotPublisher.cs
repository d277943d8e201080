using XdsControlPlane.Model;
using XdsControlPlane.Sources;
using XdsControlPlane.Translation;
using XdsControlPlane.Server.GatewayTls;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// Translates the objects in force and publishes one snapshot per node group. The <see cref="SourcePipeline"/> calls
/// <see cref="Publish(RoutingInputs, long)"/>; calls are serialized. Every changed resource is checked against Envoy's
/// rules first (<see cref="ResourceValidation"/>): one that fails is not published — the group keeps the version it
/// is served now, or goes without the resource when it never had a good one. A route configuration is never held back
/// whole for one virtual host: a host that breaks the rules, or sends to a cluster the snapshot will not hold, keeps its
/// served version or is left out, and the other hosts are published (<see cref="VirtualHostIsolation"/>). The
/// consistency check then decides (a snapshot that would miss something it refers to is rejected whole, the previous
/// one stays). The gateway group
/// also gets the HTTPS certificate (<see cref="GatewayTlsSecret"/>), and a new certificate re-publishes it alone. A snapshot equal to
/// the one in force is not published again and not logged; one that fails the consistency check is logged as an
/// error with its problems.
/// </summary>
/// <remarks>
/// EndpointSlice changes can also come on their own (<see cref="PublishEndpoints"/>, the pipeline's endpoint lane): their
/// ClusterLoadAssignments are made from the last translation and published at once, also while the next translation
/// runs; they stay in force over what a pass translated until a pass that includes them (<see cref="EndpointChanges"/>).
/// Translations are serialized. The endpoint lane reads, changes and writes a group's snapshot under one lock; a pass
/// makes its new snapshot of a group without that lock (validation, isolation, assembly) and holds it only to set the
/// snapshot if no endpoint change came meanwhile, so an endpoint change never waits for a pass's publication.
/// A publication costs what changed: each group's translated resources are compared with the served snapshot by
/// reference and version (a dictionary lookup each), only new and changed resources are validated, and the new
/// snapshot is made with <see cref="Snapshot.With"/>, which shares the unchanged types and has only the changes
/// checked for consistency.
/// </remarks>
internal sealed class SnapshotPublisher : IEndpointPublisher
{
    private const int ParallelValidationThreshold = 256;

    /// <summary>Serializes translations (the translator is not thread-safe) and what publishes a whole translation.</summary>
    private readonly Lock _translating = new();

    /// <summary>Guards the last translation, the endpoint changes ahead of it, and each read-change-write of a group's snapshot.</summary>
    private readonly Lock _gate = new();
    private readonly SnapshotCache _cache;
    private readonly IRoutingTranslator _translation;
    private readonly ResourceValidation _validation;
    private readonly GatewayCertificateStore _gatewayTls;
    private readonly ILogger<SnapshotPublisher> _logger;
    private readonly EndpointChanges _endpoints = new();
    private TranslationResult? _last;

    /// <summary>Counts the endpoint lane's changes (under <see cref="_gate"/>): a group publication made without the lock is still current while this is unchanged.</summary>
    private long _endpointChangesTaken;

    /// <summary>How often a pass makes a group's snapshot without the lock before it makes it under the lock (endpoint changes meanwhile make it start over).</summary>
    private const int UnlockedAttempts = 3;

    /// <summary>
    /// A publisher of <paramref name="translation"/>'s results to <paramref name="cache"/>; the gateway group also gets the
    /// HTTPS certificate of <paramref name="gatewayTls"/> as an SDS secret, re-published alone when it changes.
    /// </summary>
    public SnapshotPublisher(SnapshotCache cache, IRoutingTranslator translation, ResourceValidation validation, GatewayCertificateStore gatewayTls, ILogger<SnapshotPublisher> logger)
    {
        (_cache, _translation, _validation, _gatewayTls, _logger) = (cache, translation, validation, gatewayTls, logger);
        gatewayTls.Subscribe(PublishGatewaySecret);
    }

    /// <summary>
    /// Translates <paramref name="inputs"/> and publishes the result; returns the problems translation met, and one per
    /// owner of each virtual host held out (<see cref="HeldOutHostProblems"/>).
    /// </summary>
    public IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs) => Publish(inputs, _endpoints.Latest);

    /// <inheritdoc />
    public IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs, long included)
    {
        lock (_translating)
        {
            var result = _translation.Translate(inputs);
            lock (_gate)
            {
                _last = result;
                _endpoints.Translated(inputs, result.Endpoints, included);
            }

            foreach (var (group, translated) in result.Groups)
            {
                PublishGroup(group, translated);
            }

            _validation.Trim(() => result.Groups.Values.SelectMany(resources => resources));
            _validation.ForgetHeldOutNotIn(result.Groups);
            return HeldOutHostProblems.With(result, _validation.HeldOut);
        }
    }

    /// <inheritdoc />
    public void PublishEndpoints(IReadOnlyList<EndpointChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var published = new List<(string Group, Snapshot? Served, Snapshot Snapshot, SnapshotUpdate Update)>();
        lock (_gate)
        {
            var changed = _endpoints.Apply(changes);
            if (changed.Count == 0)
            {
                return;
            }

            _endpointChangesTaken++;
            foreach (var group in _last!.Groups.Keys)
            {
                if (_cache.GetSnapshot(group)?.Snapshot is not { } served)
                {
                    continue;   // not published yet: its first publication applies the change
                }

                var upserts = new List<XdsResource>();
                foreach (var resource in changed)
                {
                    if (served.Find(resource.TypeUrl, resource.Name) is { } previous && previous.Version != resource.Version)
                    {
                        upserts.Add(resource);
                    }
                }

                var passing = Admitted(group, upserts, served, []);
                if (passing.Count > 0)
                {
                    var snapshot = served.With(passing, []);
                    published.Add((group, served, snapshot, _cache.SetSnapshot(group, snapshot)));
                }
            }
        }

        foreach (var (group, served, snapshot, update) in published)
        {
            Log(group, served, snapshot, update);
        }
    }

    /// <summary>
    /// A new gateway certificate: the gateway group's last translation published again with it, so only the secret
    /// changes (and, on the first certificate, the HTTPS listener that waited for it appears).
    /// </summary>
    private void PublishGatewaySecret()
    {
        lock (_translating)
        {
            if (_last?.Groups.TryGetValue(DataPlaneRoles.Gateway, out var gateway) == true)
            {
                PublishGroup(DataPlaneRoles.Gateway, gateway);
            }
        }
    }

    /// <summary>
    /// Publishes a group's translated resources, with the endpoint changes published since that translation. The new
    /// snapshot is made without the lock (new resources checked, a route configuration's hosts isolated, the snapshot
    /// assembled), so the endpoint lane never waits for it; under the lock it is only set, if no endpoint change came
    /// meanwhile — otherwise it is made again from what the lane published (the checks are remembered, so that is cheap).
    /// </summary>
    private void PublishGroup(string group, IReadOnlyList<XdsResource> translated)
    {
        if (group == DataPlaneRoles.Gateway)
        {
            translated = GatewayTlsSecret.Complete(translated, _gatewayTls.Secret);
        }

        // One comparison with the served snapshot serves both the checks ahead and the snapshot made below, while no
        // endpoint change comes between them (at 10,000 RouteGroups a group holds thousands of resources).
        var compared = Compare(_cache.GetSnapshot(group)?.Snapshot, translated);
        _validation.Prepare(compared.Served is null ? translated : compared.Candidates);
        for (var attempt = 1; ; attempt++)
        {
            if (attempt > UnlockedAttempts)
            {
                PublishGroupUnderLock(group, translated);
                return;
            }

            IReadOnlyList<XdsResource> resources;
            Snapshot? served;
            long taken;
            lock (_gate)
            {
                (resources, served, taken) = (_endpoints.InForce(translated), _cache.GetSnapshot(group)?.Snapshot, _endpointChangesTaken);
            }

            var snapshot = served is null
                ? Snapshot.Create(Admitted(group, resources, null, []))
                : Updated(group, ReferenceEquals(served, compared.Served) && ReferenceEquals(resources, compared.Resources) ? compared : Compare(served, resources));
            if (ReferenceEquals(snapshot, served))
            {
                return;
            }

            SnapshotUpdate update;
            lock (_gate)
            {
                if (taken != _endpointChangesTaken || !ReferenceEquals(_cache.GetSnapshot(group)?.Snapshot, served))
                {
                    continue;   // the endpoint lane took a change meanwhile: made again with it
                }

                update = _cache.SetSnapshot(group, snapshot);
            }

            Log(group, served, snapshot, update);
            return;
        }
    }

    /// <summary>
    /// Makes and sets a group's snapshot under the lock, as the last resort of <see cref="PublishGroup"/>: endpoint changes
    /// that keep coming faster than a snapshot is made wait for this one publication instead of starving it.
    /// </summary>
    private void PublishGroupUnderLock(string group, IReadOnlyList<XdsResource> translated)
    {
        Snapshot? served;
        Snapshot snapshot;
        SnapshotUpdate update;
        lock (_gate)
        {
            var resources = _endpoints.InForce(translated);
            served = _cache.GetSnapshot(group)?.Snapshot;
            snapshot = served is null ? Snapshot.Create(Admitted(group, resources, null, [])) : Updated(group, Compare(served, resources));
            if (ReferenceEquals(snapshot, served))
            {
                return;
            }

            update = _cache.SetSnapshot(group, snapshot);
        }

        Log(group, served, snapshot, update);
    }

    private void Log(string group, Snapshot? served, Snapshot snapshot, SnapshotUpdate update)
    {
        if (!update.Accepted)
        {
            ManifestLog.SnapshotRejected(_logger, group, string.Join(" ", update.Problems));
        }
        else if (served?.Version != snapshot.Version)
        {
            ManifestLog.Published(_logger, group, snapshot.Version, snapshot.Count);
        }
    }

    /// <summary>
    /// <paramref name="resources"/> against <paramref name="served"/>: the new and changed ones (those <paramref name="served"/>
    /// does not hold at their version), and how many of them it holds by name. Translation lists a group's resources type
    /// by type, so each run of one type looks its served table up once and then only the names.
    /// </summary>
    private static Comparison Compare(Snapshot? served, IReadOnlyList<XdsResource> resources)
    {
        var candidates = new List<XdsResource>();
        if (served is null)
        {
            return new Comparison(null, resources, candidates, 0);
        }

        var kept = 0;
        string? typeUrl = null;
        IReadOnlyDictionary<string, XdsResource>? named = null;
        foreach (var resource in resources)
        {
            if (named is null || !ReferenceEquals(resource.TypeUrl, typeUrl))
            {
                typeUrl = resource.TypeUrl;
                named = served.Resources(typeUrl);
            }

            if (!named.TryGetValue(resource.Name, out var previous))
            {
                candidates.Add(resource);
                continue;
            }

            // A failing resource keeps the served version, so every resource served before stays unless it is gone.
            kept++;
            if (!(ReferenceEquals(previous, resource) || previous.Version == resource.Version))
            {
                candidates.Add(resource);
            }
        }

        return new Comparison(served, resources, candidates, kept);
    }

    /// <summary>
    /// The served snapshot with the translated changes <paramref name="compared"/> found: a new or changed resource that
    /// passes replaces the served one (one that fails leaves the served version in place; a route configuration holds out
    /// only its broken virtual hosts), and a served resource translation no longer makes is removed. Returns the served
    /// snapshot itself when nothing changed.
    /// </summary>
    private Snapshot Updated(string group, Comparison compared)
    {
        var served = compared.Served!;
        var removals = compared.Kept < served.Count ? Removed(served, compared.Resources) : [];
        var upserts = Admitted(group, compared.Candidates, served, removals);
        return upserts.Count == 0 && removals.Count == 0 ? served : served.With(upserts, removals);
    }

    /// <summary>
    /// What of <paramref name="resources"/> may be published (<see cref="ResourceValidation.Admit"/>), in order, leaving
    /// out what equals the served version: every other type first (checked side by side when there are many; names within
    /// one group are unique, so each is checked once), then the route configurations, which learn from them which
    /// clusters the snapshot will hold — the served ones not in <paramref name="removals"/>, and the new ones that pass.
    /// </summary>
    private List<XdsResource> Admitted(string group, IReadOnlyList<XdsResource> resources, Snapshot? served, List<(string TypeUrl, string Name)> removals)
    {
        var admitted = new XdsResource?[resources.Count];
        var others = Enumerable.Range(0, resources.Count).Where(i => resources[i].TypeUrl != TypeUrls.RouteConfiguration).ToArray();
        if (others.Length < ParallelValidationThreshold)
        {
            foreach (var i in others)
            {
                admitted[i] = _validation.IsValid(resources[i]) ? resources[i] : null;
            }
        }
        else
        {
            Parallel.ForEach(others, i => admitted[i] = _validation.IsValid(resources[i]) ? resources[i] : null);
        }

        var newClusters = admitted.Where(r => r?.TypeUrl == TypeUrls.Cluster).Select(r => r!.Name).ToHashSet(StringComparer.Ordinal);
        var removed = removals.Count == 0 ? null : removals.Where(r => r.TypeUrl == TypeUrls.Cluster).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var servedClusters = served?.Resources(TypeUrls.Cluster);
        bool ClusterPublished(string name) =>
            newClusters.Contains(name) || BootstrapClusters.Contains(name) || (servedClusters?.ContainsKey(name) == true && removed?.Contains(name) != true);

        var upserts = new List<XdsResource>(resources.Count);
        for (var i = 0; i < resources.Count; i++)
        {
            var resource = resources[i];
            var previous = served?.Find(resource.TypeUrl, resource.Name);
            var chosen = resource.TypeUrl == TypeUrls.RouteConfiguration ? _validation.Admit(group, resource, previous, ClusterPublished) : admitted[i];
            if (chosen is not null && !(previous is not null && (ReferenceEquals(previous, chosen) || previous.Version == chosen.Version)))
            {
                upserts.Add(chosen);
            }
        }

        return upserts;
    }

    /// <summary>The served resources translation no longer makes (only computed when some are gone).</summary>
    private static List<(string TypeUrl, string Name)> Removed(Snapshot served, IReadOnlyList<XdsResource> translated)
    {
        var present = new HashSet<(string, string)>(translated.Count);
        foreach (var resource in translated)
        {
            present.Add((resource.TypeUrl, resource.Name));
        }

        var removed = new List<(string, string)>();
        foreach (var typeUrl in TypeUrls.PushOrder)
        {
            foreach (var name in served.Resources(typeUrl).Keys)
            {
                if (!present.Contains((typeUrl, name)))
                {
                    removed.Add((typeUrl, name));
                }
            }
        }

        return removed;
    }

    /// <summary>A group's resources compared with the snapshot served (<see cref="Compare"/>).</summary>
    /// <param name="Served">The snapshot compared with (null: none yet).</param>
    /// <param name="Resources">The resources compared.</param>
    /// <param name="Candidates">The new and changed ones, in order.</param>
    /// <param name="Kept">How many of them the served snapshot holds by name.</param>
    private sealed record Comparison(Snapshot? Served, IReadOnlyList<XdsResource> Resources, List<XdsResource> Candidates, int Kept);
}
