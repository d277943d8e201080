using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Merges the conditions one writer owns into an object's condition list without disturbing the others': each
/// updated type replaces the condition of that type where it stands, new types are appended. Keeping the order
/// stable matters: two writers that each re-sorted the list would see each other's order as a change and write in turn
/// forever.
/// </summary>
internal static class ConditionList
{
    /// <summary><paramref name="previous"/> with every condition in <paramref name="updates"/> put in place.</summary>
    public static IReadOnlyList<Condition> Merge(IReadOnlyList<Condition> previous, IReadOnlyList<Condition> updates)
    {
        var merged = previous.Select(c => updates.FirstOrDefault(u => u.Type == c.Type) ?? c).ToList();
        merged.AddRange(updates.Where(u => previous.All(c => c.Type != u.Type)));
        return merged;
    }
}
