using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Writes RouteGroup status through the status subresource with a JSON merge patch of the fields this controller
/// owns (<c>observedGeneration</c>, <c>conditions</c>), and only when they differ from what the object already says,
/// so replicas and repeated publications do not write in a loop.
/// </summary>
internal sealed class RouteGroupStatusWriter(IKubernetes client, TimeProvider clock, ILogger logger, string fieldManager)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>RouteGroups whose last written status is <c>Programmed=False, Pending</c> (worth re-checking as ACKs arrive).</summary>
    public bool AnyPending { get; private set; }

    /// <summary>Brings every RouteGroup's status up to date; returns how many were written.</summary>
    public async Task<int> WriteAsync(IEnumerable<RouteGroup> current, ManifestSetResult inForce, IReadOnlyList<ManifestProblem> translationProblems, bool acked, CancellationToken cancellationToken)
    {
        var problems = inForce.Problems.Concat(translationProblems).Where(p => p.Resource?.Kind == RouteGroup.KindName).ToLookup(p => p.Resource!);
        var translatedByKey = inForce.Inputs.RouteGroups.ToDictionary(g => (g.Metadata.Namespace, g.Metadata.Name));
        var written = 0;
        var pending = false;
        foreach (var group in current)
        {
            var translated = translatedByKey.GetValueOrDefault((group.Metadata.Namespace, group.Metadata.Name));
            var desired = RouteGroupConditions.Compute(group, [.. problems[group.Key]], ReferenceEquals(translated, group) || SameSpec(translated, group), acked, clock.GetUtcNow());
            pending |= desired.Conditions.Any(c => c is { Type: "Programmed", Reason: "Pending" });
            if (RouteGroupConditions.SameAs(group.Status, desired))
            {
                continue;
            }

            var patch = new V1Patch(JsonSerializer.Serialize(new { status = desired }, Json), V1Patch.PatchType.MergePatch);
            try
            {
                await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                    patch, CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, group.Metadata.Namespace, "routegroups", group.Metadata.Name,
                    fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
                written++;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                // Deleted meanwhile: nothing to report on.
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException)
            {
                KubernetesLog.StatusWriteFailed(logger, group.Key.ToString(), e.Message);
            }
        }

        AnyPending = pending;
        return written;
    }

    /// <summary>A status-only update makes a new object with the same spec: that version is still the one in force.</summary>
    private static bool SameSpec(RouteGroup? translated, RouteGroup current) =>
        translated is not null && translated.Metadata.Generation == current.Metadata.Generation && translated.Metadata.Generation > 0;
}
