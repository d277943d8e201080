using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Writes the routing conditions (<see cref="RoutingConditions"/>) of RouteGroups, Sandboxes and LocalWorkloads
/// through the status subresource, with a JSON merge patch of <c>conditions</c> (and a RouteGroup's
/// <c>observedGeneration</c>), only when they differ from what the object already says, so replicas and repeated
/// publications do not write in a loop. Conditions of other types (a Sandbox's <c>Ready</c>) are carried over.
/// </summary>
internal sealed class RoutingStatusWriter(IKubernetes client, TimeProvider clock, ILogger logger, string fieldManager)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Objects whose last written status is <c>Programmed=False, Pending</c> (worth re-checking as ACKs arrive).</summary>
    public bool AnyPending { get; private set; }

    /// <summary>Brings the status of every object in <paramref name="current"/> up to date; returns how many were written.</summary>
    public async Task<int> WriteAsync(IEnumerable<IManifestObject> current, ManifestSetResult inForce, IReadOnlyList<ManifestProblem> translationProblems, bool acked, CancellationToken cancellationToken)
    {
        var problems = inForce.Problems.Concat(translationProblems).Where(p => p.Resource is not null).ToLookup(p => p.Resource!);
        var translated = new Dictionary<ResourceKey, IManifestObject>();
        foreach (var obj in inForce.Inputs.RouteGroups.Concat<IManifestObject>(inForce.Inputs.Sandboxes).Concat(inForce.Inputs.LocalWorkloads))
        {
            translated[obj.Key] = obj;
        }

        var written = 0;
        var pending = false;
        foreach (var obj in current)
        {
            var (previous, observed, plural) = obj switch
            {
                RouteGroup g => (g.Status?.Conditions ?? [], g.Status?.ObservedGeneration, "routegroups"),
                Sandbox s => (s.Status?.Conditions ?? [], null, "sandboxes"),
                LocalWorkload w => (w.Status?.Conditions ?? [], null, "localworkloads"),
                _ => throw new ArgumentException($"{obj.Key.Kind} has no routing status", nameof(current)),
            };
            var inForceNow = translated.GetValueOrDefault(obj.Key) is { } used && (ReferenceEquals(used, obj) || SameGeneration(used, obj));
            var desired = RoutingConditions.Compute(obj, previous, [.. problems[obj.Key]], inForceNow, acked, clock.GetUtcNow());
            pending |= desired.Any(c => c is { Type: "Programmed", Reason: "Pending" });
            var generationCurrent = obj is not RouteGroup || observed == obj.Metadata.Generation;
            if (generationCurrent && RoutingConditions.SameAs(previous, desired))
            {
                continue;
            }

            // The resource version makes the patch conditional: written from a stale view, it would replace conditions another
            // writer has added since (the Sandbox controller's Ready); the API server answers 409 instead, and the newer
            // version's watch event brings this writer back with a fresh view.
            object status = obj is RouteGroup ? new { observedGeneration = obj.Metadata.Generation, conditions = desired } : new { conditions = desired };
            var metadata = new { resourceVersion = obj.Metadata.ResourceVersion };
            var patch = new V1Patch(JsonSerializer.Serialize(new { metadata, status }, Json), V1Patch.PatchType.MergePatch);
            try
            {
                await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                    patch, CustomResourceDefinitions.Group, CustomResourceDefinitions.Version, obj.Metadata.Namespace, plural, obj.Metadata.Name,
                    fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
                written++;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
            {
                // Deleted meanwhile: nothing to report on.
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                // Changed meanwhile: its watch event triggers another pass with the new version.
                pending = true;
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException)
            {
                KubernetesLog.StatusWriteFailed(logger, obj.Key.ToString(), e.Message);
            }
        }

        AnyPending = pending;
        return written;
    }

    /// <summary>A status-only update makes a new object with the same spec: that version is still the one in force.</summary>
    private static bool SameGeneration(IManifestObject translated, IManifestObject current) =>
        translated.Metadata.Generation == current.Metadata.Generation && translated.Metadata.Generation > 0;
}
