using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s.Models;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Computes a Sandbox's status from what the controller planned and what the cluster reports — pure. Phase
/// <c>Failed</c> when the Sandbox is invalid or a fork cannot be made or rolled out, <c>Ready</c> when every fork
/// Deployment has all its replicas updated and available, <c>Pending</c> otherwise; a <c>Ready</c> condition says why.
/// <c>status.previews</c> lists the preview URLs (<see cref="PreviewSite"/>, the host names translation serves), and a
/// <c>Previews</c> condition says whether they are served (not while the server has no <c>--preview-domain</c>).
/// </summary>
internal static class SandboxStatusBuilder
{
    /// <summary>The type of the condition that says whether the Sandbox's previews are served.</summary>
    public const string PreviewsCondition = "Previews";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>
    /// The status to have. <paramref name="forks"/> pairs each plan with the fork Deployment as the cluster has it (null:
    /// not created yet); <paramref name="previewDomain"/> and <paramref name="previewSalt"/> are the server's
    /// <c>--preview-domain</c> (null or empty: previews are off) and <c>--preview-salt</c>.
    /// </summary>
    public static SandboxStatus Build(
        Sandbox sandbox, string routingKey, IReadOnlyList<ManifestProblem> problems, IReadOnlyList<(PlannedFork Plan, V1Deployment? Observed)> forks, DateTimeOffset now,
        string? previewDomain = null, string previewSalt = "")
    {
        var forkStatus = forks.Select(f => ForkStatusOf(f.Plan, f.Observed)).ToList();
        var failures = forkStatus.Where(f => f.Failed).ToList();
        var (phase, status, reason, message) = problems.Count > 0
            ? (SandboxPhase.Failed, "False", "Invalid", string.Join("; ", problems.Select(p => $"{p.FieldPath}: {p.Reason}")))
            : failures.Count > 0
                ? (SandboxPhase.Failed, "False", failures[0].Reason, string.Join("; ", failures.Select(f => $"fork of {f.Status.Name}: {f.Status.Message}")))
                : forkStatus.All(f => f.Status.Ready)
                    ? (SandboxPhase.Ready, "True", "ForksReady", forkStatus.Count == 0 ? "the sandbox has no forks" : $"{forkStatus.Count} of {forkStatus.Count} forks ready")
                    : (SandboxPhase.Pending, "False", "ForksNotReady", $"{forkStatus.Count(f => f.Status.Ready)} of {forkStatus.Count} forks ready; " + string.Join("; ", forkStatus.Where(f => !f.Status.Ready).Select(f => $"{f.Status.Name}: {f.Status.Message}")));
        var previous = sandbox.Status?.Conditions.FirstOrDefault(c => c.Type == "Ready");
        var ready = new Condition
        {
            Type = "Ready",
            Status = status,
            Reason = reason,
            Message = message,
            ObservedGeneration = sandbox.Metadata.Generation,
            LastTransitionTime = previous?.Status == status ? previous.LastTransitionTime : now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
        var previews = problems.Count > 0 ? [] : PreviewSite.Of(sandbox, previewDomain, previewSalt);
        var conditions = ConditionList.Merge(sandbox.Status?.Conditions ?? [], [ready]);
        if ((sandbox.Spec.Previews ?? []).Count == 0)
        {
            conditions = [.. conditions.Where(c => c.Type != PreviewsCondition)];
        }
        else
        {
            conditions = ConditionList.Merge(conditions, [PreviewsConditionOf(sandbox, previews.Count, problems.Count > 0, string.IsNullOrEmpty(previewDomain), now)]);
        }

        return new SandboxStatus
        {
            RoutingKey = routingKey,
            Phase = phase,
            ObservedGeneration = sandbox.Metadata.Generation,
            Forks = [.. forkStatus.Select(f => f.Status)],
            Previews = [.. previews.Select(p => p.Status)],
            Conditions = conditions,
        };
    }

    private static Condition PreviewsConditionOf(Sandbox sandbox, int served, bool invalid, bool off, DateTimeOffset now)
    {
        var (status, reason, message) = invalid ? ("False", "Invalid", "the Sandbox is invalid; its previews are not served")
            : off ? ("False", "PreviewsDisabled", "previews are off: the control plane runs without --preview-domain, so spec.previews are not served")
            : ("True", "Served", served == 1 ? "1 preview URL served at the gateway" : $"{served.ToString(CultureInfo.InvariantCulture)} preview URLs served at the gateway");
        var previous = sandbox.Status?.Conditions.FirstOrDefault(c => c.Type == PreviewsCondition);
        return new Condition
        {
            Type = PreviewsCondition,
            Status = status,
            Reason = reason,
            Message = message,
            ObservedGeneration = sandbox.Metadata.Generation,
            LastTransitionTime = previous?.Status == status ? previous.LastTransitionTime : now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>True when <paramref name="current"/> already says what <paramref name="desired"/> says.</summary>
    public static bool SameAs(SandboxStatus? current, SandboxStatus desired) =>
        current is not null && JsonSerializer.Serialize(current, Json) == JsonSerializer.Serialize(desired, Json);

    /// <summary>
    /// The status as the JSON a merge patch of the status subresource carries, conditional on
    /// <paramref name="resourceVersion"/> so that a write from a stale view fails (409) instead of dropping conditions
    /// another writer added meanwhile.
    /// </summary>
    public static string PatchBody(SandboxStatus status, string? resourceVersion) => JsonSerializer.Serialize(new { metadata = new { resourceVersion }, status }, Json);

    private static (ForkStatus Status, bool Failed, string Reason) ForkStatusOf(PlannedFork plan, V1Deployment? observed)
    {
        var status = new ForkStatus
        {
            Name = plan.Baseline,
            Deployment = plan.Deployment?.Metadata.Name,
            Services = [.. plan.Services.Select(s => s.Metadata.Name)],
        };
        if (plan.Problem is { } problem)
        {
            return (status with { Message = problem }, true, plan.Deployment is null ? "BaselineNotFound" : "ForkConflict");
        }

        if (observed is null)
        {
            return (status with { Message = "Deployment not created yet" }, false, "");
        }

        if (observed.Status?.Conditions?.FirstOrDefault(c => c.Type == "Progressing") is { Status: "False", Reason: "ProgressDeadlineExceeded" } stuck)
        {
            return (status with { Message = $"Deployment {observed.Metadata.Name} did not become ready: {stuck.Message}" }, true, "ProgressDeadlineExceeded");
        }

        var wanted = observed.Spec?.Replicas ?? 1;
        var s = observed.Status;
        var message = s is null || (s.ObservedGeneration ?? 0) < (observed.Metadata.Generation ?? 0)
            ? $"Deployment {observed.Metadata.Name}: rollout not started yet"
            : (s.UpdatedReplicas ?? 0) < wanted
                ? $"Deployment {observed.Metadata.Name}: {s.UpdatedReplicas ?? 0} of {wanted} replicas updated"
                : (s.AvailableReplicas ?? 0) < wanted
                    ? $"Deployment {observed.Metadata.Name}: {s.AvailableReplicas ?? 0} of {wanted} replicas available"
                    : null;
        return (status with { Ready = message is null, Message = message }, false, "");
    }
}
