using XdsControlPlane.Model;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Server;

/// <summary>
/// Tells the owners of a held-out virtual host (<see cref="VirtualHostIsolation"/>) why their routes are not what data
/// planes receive: one <see cref="ProblemKind.HeldOut"/> problem per RouteGroup, Sandbox or LocalWorkload whose routes the
/// host carries, naming the host, its route configuration, the node group, what became of it and the rule it breaks —
/// which status reports as <c>Programmed=False</c>, reason <c>VirtualHostHeldOut</c>. The text depends only on what is
/// held out, so an unchanged state gives equal problems and the status is written once, not on every pass. Pure.
/// </summary>
internal static class HeldOutHostProblems
{
    /// <summary>The most characters of a held-out host's reason carried into a problem (status messages stay readable).</summary>
    private const int MaxReasonLength = 1024;

    /// <summary>
    /// <paramref name="result"/>'s problems with those of the hosts in <paramref name="heldOut"/> whose route configuration
    /// this translation still makes (a configuration gone is no longer held out anywhere).
    /// </summary>
    public static IReadOnlyList<ManifestProblem> With(TranslationResult result, IReadOnlyList<(string Group, string Routes, ExcludedHost Host)> heldOut)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(heldOut);
        if (heldOut.Count == 0)
        {
            return result.Problems;
        }

        var problems = new List<ManifestProblem>(result.Problems);
        var seen = new HashSet<(ResourceKey, string)>();
        foreach (var (group, routes, host) in heldOut)
        {
            if (!result.Groups.TryGetValue(group, out var resources) || !resources.Any(r => r.TypeUrl == TypeUrls.RouteConfiguration && r.Name == routes))
            {
                continue;
            }

            var reason = host.Reason.Length > MaxReasonLength ? host.Reason[..MaxReasonLength] + "…" : host.Reason;
            var text = $"virtual host {host.Host} of route configuration {routes} (node group {group}) {host.Outcome}: {reason}";
            foreach (var owner in result.OwnersOf(host.Host).Where(k => k.Kind is RouteGroup.KindName or Sandbox.KindName or LocalWorkload.KindName))
            {
                if (seen.Add((owner, text)))
                {
                    problems.Add(new ManifestProblem(owner, "", text) { Kind = ProblemKind.HeldOut });
                }
            }
        }

        return problems;
    }
}
