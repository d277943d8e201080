using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Computes a RouteGroup's status: <c>Accepted</c> (the object is well-formed and conflicts with no other),
/// <c>ResolvedRefs</c> (every Service, port, Sandbox and LocalWorkload it names exists) and <c>Programmed</c> (this
/// generation is in force and the connected data planes have ACKed a snapshot containing it), each with a precise
/// reason and the field paths in the message. Pure: the caller supplies the time.
/// </summary>
public static class RouteGroupConditions
{
    /// <summary>The status <paramref name="group"/> should have.</summary>
    /// <param name="group">The object as currently stored (its generation and previous status).</param>
    /// <param name="problems">Every problem reported for it.</param>
    /// <param name="inForce">Whether this very version is the one translated (not left out, not replaced by a last good version).</param>
    /// <param name="acked">Whether the connected data planes have ACKed the current snapshots.</param>
    /// <param name="now">The transition time for conditions that change.</param>
    public static RouteGroupStatus Compute(RouteGroup group, IReadOnlyList<ManifestProblem> problems, bool inForce, bool acked, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(problems);
        var invalid = problems.Where(p => p.Kind == ProblemKind.Invalid).ToArray();
        var conflicts = problems.Where(p => p.Kind == ProblemKind.Conflict).ToArray();
        var unresolved = problems.Where(p => p.Kind == ProblemKind.UnresolvedReference).ToArray();
        var generation = group.Metadata.Generation;
        Condition[] conditions =
        [
            invalid.Length > 0 ? False("Accepted", "Invalid", invalid)
                : conflicts.Length > 0 ? False("Accepted", "Conflicted", conflicts)
                : True("Accepted", "Accepted", "The RouteGroup is valid."),
            unresolved.Length > 0 ? False("ResolvedRefs", "RefNotFound", unresolved) : True("ResolvedRefs", "ResolvedRefs", "Every referenced object exists."),
            !inForce ? new Condition { Type = "Programmed", Status = "False", Reason = "NotAccepted", Message = "This generation is not in force; see Accepted." }
                : acked ? True("Programmed", "Programmed", "The connected data planes have ACKed a snapshot with this generation.")
                : new Condition { Type = "Programmed", Status = "False", Reason = "Pending", Message = "Waiting for the connected data planes to ACK the snapshot with this generation." },
        ];
        var previous = group.Status?.Conditions ?? [];
        return new RouteGroupStatus
        {
            ObservedGeneration = generation,
            Conditions = [.. conditions.Select(c => c with
            {
                ObservedGeneration = generation,
                LastTransitionTime = previous.FirstOrDefault(p => p.Type == c.Type && p.Status == c.Status)?.LastTransitionTime
                    ?? now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            })],
        };

        static Condition True(string type, string reason, string message) => new() { Type = type, Status = "True", Reason = reason, Message = message };

        static Condition False(string type, string reason, IEnumerable<ManifestProblem> problems) => new()
        {
            Type = type,
            Status = "False",
            Reason = reason,
            Message = string.Join("; ", problems.Select(p => p.FieldPath.Length > 0 ? $"{p.FieldPath}: {p.Reason}" : p.Reason).Distinct()),
        };
    }

    /// <summary>Whether two statuses say the same (transition times aside).</summary>
    public static bool SameAs(RouteGroupStatus? current, RouteGroupStatus desired)
    {
        ArgumentNullException.ThrowIfNull(desired);
        return current is not null
            && current.ObservedGeneration == desired.ObservedGeneration
            && current.Conditions.Count == desired.Conditions.Count
            && current.Conditions.Zip(desired.Conditions).All(p => p.First with { LastTransitionTime = null } == p.Second with { LastTransitionTime = null });
    }
}
