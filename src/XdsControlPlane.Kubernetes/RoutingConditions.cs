using System.Globalization;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Computes the routing conditions of a RouteGroup, Sandbox or LocalWorkload: <c>Accepted</c> (the object is
/// well-formed and conflicts with no other), <c>ResolvedRefs</c> (every Service, port, Sandbox and LocalWorkload it
/// names exists, and another namespace's Service allows it: reason <c>RefNotPermitted</c> otherwise) and <c>Programmed</c> (this generation is in force and the connected data planes have ACKed a
/// snapshot containing it; reason <c>VirtualHostHeldOut</c> when a virtual host carrying its routes broke Envoy's rules and
/// is held out of its route configuration), each with a precise reason and the field paths in the message. Other condition types
/// (a Sandbox's <c>Ready</c>, written by its controller) are kept as they are. Pure: the caller supplies the time.
/// </summary>
public static class RoutingConditions
{
    /// <summary>The condition types computed here.</summary>
    public static readonly IReadOnlySet<string> Types = new HashSet<string>(["Accepted", "ResolvedRefs", "Programmed"], StringComparer.Ordinal);

    /// <summary>The conditions <paramref name="obj"/> should have: <paramref name="previous"/> with these three put in place (order kept, new ones appended).</summary>
    /// <param name="obj">The object as currently stored (its kind and generation).</param>
    /// <param name="previous">Its current conditions.</param>
    /// <param name="problems">Every problem reported for it.</param>
    /// <param name="inForce">Whether this very version is the one translated (not left out, not replaced by a last good version).</param>
    /// <param name="acked">Whether the connected data planes have ACKed the current snapshots.</param>
    /// <param name="now">The transition time for conditions that change.</param>
    public static IReadOnlyList<Condition> Compute(IManifestObject obj, IReadOnlyList<Condition> previous, IReadOnlyList<ManifestProblem> problems, bool inForce, bool acked, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(problems);
        var invalid = problems.Where(p => p.Kind == ProblemKind.Invalid).ToArray();
        var conflicts = problems.Where(p => p.Kind == ProblemKind.Conflict).ToArray();
        var unresolved = problems.Where(p => p.Kind == ProblemKind.UnresolvedReference).ToArray();
        var refused = problems.Where(p => p.Kind == ProblemKind.NotPermitted).ToArray();
        var heldOut = problems.Where(p => p.Kind == ProblemKind.HeldOut).ToArray();
        var generation = obj.Metadata.Generation;
        var kind = obj.Key.Kind;
        Condition[] conditions =
        [
            invalid.Length > 0 ? False("Accepted", "Invalid", invalid)
                : conflicts.Length > 0 ? False("Accepted", "Conflicted", conflicts)
                : True("Accepted", "Accepted", $"The {kind} is valid."),
            refused.Length > 0 ? False("ResolvedRefs", "RefNotPermitted", [.. refused, .. unresolved])
                : unresolved.Length > 0 ? False("ResolvedRefs", "RefNotFound", unresolved)
                : True("ResolvedRefs", "ResolvedRefs", "Every referenced object exists and allows the reference."),
            !inForce ? new Condition { Type = "Programmed", Status = "False", Reason = "NotAccepted", Message = "This generation is not in force; see Accepted and ResolvedRefs." }
                : obj is LocalWorkload { IsRoutable: false } workload ? NotRoutable(workload)
                : heldOut.Length > 0 ? False("Programmed", "VirtualHostHeldOut", heldOut)
                : acked ? True("Programmed", "Programmed", "The connected data planes have ACKed a snapshot with this generation.")
                : new Condition { Type = "Programmed", Status = "False", Reason = "Pending", Message = "Waiting for the connected data planes to ACK the snapshot with this generation." },
        ];
        return ConditionList.Merge(previous, [.. conditions.Select(c => c with
        {
            ObservedGeneration = generation,
            LastTransitionTime = previous.FirstOrDefault(p => p.Type == c.Type && p.Status == c.Status)?.LastTransitionTime
                ?? now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        })]);

        static Condition True(string type, string reason, string message) => new() { Type = type, Status = "True", Reason = reason, Message = message };

        static Condition NotRoutable(LocalWorkload workload) => workload.Status?.Phase is { Length: > 0 } phase and not (LocalWorkloadPhase.Pending or LocalWorkloadPhase.Connected)
            ? new Condition { Type = "Programmed", Status = "False", Reason = phase, Message = $"Routes withdrawn while the LocalWorkload is {phase}; requests reach the baseline." }
            : new Condition { Type = "Programmed", Status = "False", Reason = "NotConnected", Message = "No agent's tunnel leads to the laptop yet (sandboxctl local connect); requests reach the baseline." };

        static Condition False(string type, string reason, IEnumerable<ManifestProblem> problems) => new()
        {
            Type = type,
            Status = "False",
            Reason = reason,
            Message = string.Join("; ", problems.Select(p => p.FieldPath.Length > 0 ? $"{p.FieldPath}: {p.Reason}" : p.Reason).Distinct()),
        };
    }

    /// <summary>Whether two condition lists say the same (transition times aside).</summary>
    public static bool SameAs(IReadOnlyList<Condition>? current, IReadOnlyList<Condition> desired)
    {
        ArgumentNullException.ThrowIfNull(desired);
        return current is not null
            && current.Count == desired.Count
            && current.Zip(desired).All(p => p.First with { LastTransitionTime = null } == p.Second with { LastTransitionTime = null });
    }
}
