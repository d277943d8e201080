using XdsControlPlane.Model;
using XdsControlPlane.Sources;
using XdsControlPlane.Translation;
using XdsControlPlane.Server.GatewayTls;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// Translates the objects in force and publishes one snapshot per node group. The <see cref="SourcePipeline"/> calls
/// <see cref="Publish"/>; calls are serialized. Every changed resource is checked against Envoy's
/// rules first (<see cref="ResourceValidation"/>): one that fails is not published — the group keeps the version it
/// is served now, or goes without the resource when it never had a good one, and the consistency check then decides
/// (a snapshot that would miss something it refers to is rejected whole, the previous one stays). The gateway group
/// also gets the HTTPS certificate (<see cref="GatewayTlsSecret"/>), and a new certificate re-publishes it alone. A snapshot equal to
/// the one in force is not published again and not logged; one that fails the consistency check is logged as an
/// error with its problems.
/// </summary>
/// <remarks>
/// A publication costs what changed: each group's translated resources are compared with the served snapshot by
/// reference and version (a dictionary lookup each), only new and changed resources are validated, and the new
/// snapshot is made with <see cref="Snapshot.With"/>, which shares the unchanged types and has only the changes
/// checked for consistency.
/// </remarks>
internal sealed class SnapshotPublisher : IRoutingPublisher
{
    private const int ParallelValidationThreshold = 256;
    private readonly Lock _gate = new();
    private readonly SnapshotCache _cache;
    private readonly IRoutingTranslator _translation;
    private readonly ResourceValidation _validation;
    private readonly GatewayCertificateStore _gatewayTls;
    private readonly ILogger<SnapshotPublisher> _logger;
    private TranslationResult? _last;

    /// <summary>
    /// A publisher of <paramref name="translation"/>'s results to <paramref name="cache"/>; the gateway group also gets the
    /// HTTPS certificate of <paramref name="gatewayTls"/> as an SDS secret, re-published alone when it changes.
    /// </summary>
    public SnapshotPublisher(SnapshotCache cache, IRoutingTranslator translation, ResourceValidation validation, GatewayCertificateStore gatewayTls, ILogger<SnapshotPublisher> logger)
    {
        (_cache, _translation, _validation, _gatewayTls, _logger) = (cache, translation, validation, gatewayTls, logger);
        gatewayTls.Subscribe(PublishGatewaySecret);
    }

    /// <summary>Translates <paramref name="inputs"/> and publishes the result; returns the problems translation met.</summary>
    public IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs)
    {
        lock (_gate)
        {
            var result = _translation.Translate(inputs);
            _last = result;
            foreach (var (group, translated) in result.Groups)
            {
                PublishGroup(group, translated);
            }

            _validation.Trim(() => result.Groups.Values.SelectMany(resources => resources));
            return result.Problems;
        }
    }

    /// <summary>
    /// A new gateway certificate: the gateway group's last translation published again with it, so only the secret
    /// changes (and, on the first certificate, the HTTPS listener that waited for it appears).
    /// </summary>
    private void PublishGatewaySecret()
    {
        lock (_gate)
        {
            if (_last?.Groups.TryGetValue(DataPlaneRoles.Gateway, out var gateway) == true)
            {
                PublishGroup(DataPlaneRoles.Gateway, gateway);
            }
        }
    }

    private void PublishGroup(string group, IReadOnlyList<XdsResource> translated)
    {
        if (group == DataPlaneRoles.Gateway)
        {
            translated = GatewayTlsSecret.Complete(translated, _gatewayTls.Secret);
        }

        var served = _cache.GetSnapshot(group)?.Snapshot;
        var snapshot = served is null ? Snapshot.Create(Passing(translated)) : Updated(served, translated);
        if (ReferenceEquals(snapshot, served))
        {
            return;
        }

        var update = _cache.SetSnapshot(group, snapshot);
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
    /// <paramref name="served"/> with the translated changes: a new or changed resource that passes replaces the served
    /// one (one that fails leaves the served version in place), and a served resource translation no longer makes is
    /// removed. Returns <paramref name="served"/> itself when nothing changed.
    /// </summary>
    private Snapshot Updated(Snapshot served, IReadOnlyList<XdsResource> translated)
    {
        var candidates = new List<XdsResource>();
        var kept = 0;
        foreach (var resource in translated)
        {
            var previous = served.Find(resource.TypeUrl, resource.Name);
            if (previous is null || !(ReferenceEquals(previous, resource) || previous.Version == resource.Version))
            {
                candidates.Add(resource);
            }

            // A failing resource keeps the served version, so every resource served before stays unless it is gone.
            kept += previous is null ? 0 : 1;
        }

        var upserts = Passing(candidates);
        var removals = kept < served.Count ? Removed(served, translated) : [];
        return upserts.Count == 0 && removals.Count == 0 ? served : served.With(upserts, removals);
    }

    /// <summary>The resources that pass, in order; checked side by side when there are many (names within one group are unique, so each is checked once).</summary>
    private List<XdsResource> Passing(IReadOnlyList<XdsResource> resources)
    {
        var valid = new bool[resources.Count];
        if (resources.Count < ParallelValidationThreshold)
        {
            for (var i = 0; i < resources.Count; i++)
            {
                valid[i] = _validation.IsValid(resources[i]);
            }
        }
        else
        {
            Parallel.For(0, resources.Count, i => valid[i] = _validation.IsValid(resources[i]));
        }

        var passing = new List<XdsResource>(resources.Count);
        for (var i = 0; i < resources.Count; i++)
        {
            if (valid[i])
            {
                passing.Add(resources[i]);
            }
        }

        return passing;
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
}
