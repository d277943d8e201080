using XdsControlPlane.Model;
using XdsControlPlane.Translation;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// Translates the objects in force and publishes one snapshot per node group. Sources (the manifest directory,
/// Kubernetes) call <see cref="Publish"/>; calls are serialized. A snapshot equal to the one in force is not
/// published again and not logged; one that fails the consistency check is logged as an error with its problems.
/// </summary>
internal sealed class SnapshotPublisher(SnapshotCache cache, RoutingTranslator translator, ILogger<SnapshotPublisher> logger)
{
    private readonly Lock _gate = new();

    /// <summary>Translates <paramref name="inputs"/> and publishes the result; returns the problems translation met.</summary>
    public IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs)
    {
        lock (_gate)
        {
            var result = translator.Translate(inputs);
            foreach (var (group, resources) in result.Groups)
            {
                var snapshot = Snapshot.Create(resources);
                var unchanged = cache.GetSnapshot(group)?.Snapshot.Version == snapshot.Version;
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

            return result.Problems;
        }
    }
}
