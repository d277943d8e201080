using XdsControlPlane.Model;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// Translates the objects in force and publishes one snapshot per node group. Sources (the manifest directory,
/// Kubernetes) call <see cref="Publish"/>; calls are serialized. Every changed resource is checked against Envoy's
/// rules first (<see cref="ResourceValidation"/>): one that fails is not published — the group keeps the version it
/// is served now, or goes without the resource when it never had a good one, and the consistency check then decides
/// (a snapshot that would miss something it refers to is rejected whole, the previous one stays). A snapshot equal to
/// the one in force is not published again and not logged; one that fails the consistency check is logged as an
/// error with its problems.
/// </summary>
internal sealed class SnapshotPublisher(SnapshotCache cache, IRoutingTranslation translation, ResourceValidation validation, ILogger<SnapshotPublisher> logger)
{
    private readonly Lock _gate = new();

    /// <summary>Translates <paramref name="inputs"/> and publishes the result; returns the problems translation met.</summary>
    public IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs)
    {
        lock (_gate)
        {
            var result = translation.Translate(inputs);
            var current = new HashSet<(string, string, string)>();
            foreach (var (group, translated) in result.Groups)
            {
                var served = cache.GetSnapshot(group)?.Snapshot;
                var resources = Checked(translated, served);
                current.UnionWith(translated.Concat(resources).Select(r => (r.TypeUrl, r.Name, r.Version)));
                var snapshot = Snapshot.Create(resources);
                var unchanged = served?.Version == snapshot.Version;
                var update = cache.SetSnapshot(group, snapshot);
                if (!update.Accepted)
                {
                    ManifestLog.SnapshotRejected(logger, group, string.Join(" ", update.Problems));
                }
                else if (!unchanged)
                {
                    ManifestLog.Published(logger, group, snapshot.Version, resources.Count);
                }
            }

            validation.Retain(current);
            return result.Problems;
        }
    }

    /// <summary>The resources to publish: each translated one that passes, else the version <paramref name="served"/> has (if any).</summary>
    private List<XdsResource> Checked(IReadOnlyList<XdsResource> translated, Snapshot? served)
    {
        var resources = new List<XdsResource>(translated.Count);
        foreach (var resource in translated)
        {
            if (validation.IsValid(resource))
            {
                resources.Add(resource);
            }
            else if (served?.Find(resource.TypeUrl, resource.Name) is { } previous)
            {
                resources.Add(previous);
            }
        }

        return resources;
    }
}
