using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Writes each LocalWorkload's <c>status.phase</c> (and observed generation) when its heartbeats say it changed, conditional
/// on the version it judged. A failed write is tried again on the next tick; an outage is one Warning when it starts and
/// one Information line when a write goes through again (the failures between are Debug).
/// </summary>
internal sealed class LocalWorkloadStatusWriter(IKubernetes client, TimeProvider clock, ILogger logger, string fieldManager)
{
    private readonly FailureStreak _failures = new();

    /// <summary>Brings every LocalWorkload's phase up to date; returns how many were written.</summary>
    public async Task<int> WriteAsync(IEnumerable<LocalWorkload> workloads, CancellationToken cancellationToken)
    {
        var written = 0;
        foreach (var workload in workloads)
        {
            var phase = HeartbeatPhases.Compute(workload, clock.GetUtcNow());
            if (workload.Status?.Phase == phase && workload.Status?.ObservedGeneration == workload.Metadata.Generation)
            {
                continue;
            }

            // Conditional on the version judged: the broker writes the phase too (Connected when an agent attaches), and a
            // phase aged from an older view must not overwrite it — the API server answers 409 and the next tick judges
            // the newer version.
            var body = new JsonObject
            {
                ["metadata"] = new JsonObject { ["resourceVersion"] = workload.Metadata.ResourceVersion },
                ["status"] = new JsonObject { ["phase"] = phase, ["observedGeneration"] = workload.Metadata.Generation },
            };
            try
            {
                await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                    new V1Patch(body.ToJsonString(), V1Patch.PatchType.MergePatch), CustomResourceDefinitions.Group, CustomResourceDefinitions.Version,
                    workload.Metadata.Namespace, "localworkloads", workload.Metadata.Name, fieldManager: fieldManager, cancellationToken: cancellationToken).ConfigureAwait(false);
                written++;
                if (_failures.Succeeded() is > 0 and var failures)
                {
                    KubernetesLog.StatusWritesRecovered(logger, failures);
                }

                var key = workload.Key.ToString();
                KubernetesLog.LocalWorkloadPhase(logger, key, phase);
            }
            catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
            {
                // Deleted, or changed since this view: its watch event brings the newer version to the next tick.
            }
            catch (Exception e) when (e is HttpOperationException or HttpRequestException or JsonException)
            {
                var resource = workload.Key.ToString();
                if (_failures.Failed())
                {
                    KubernetesLog.StatusWriteFailed(logger, resource, e.Message);
                }
                else
                {
                    KubernetesLog.PhaseWriteRetry(logger, resource, e.Message);
                }
            }
        }

        return written;
    }
}
