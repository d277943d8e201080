using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>
/// Validation of one Service port's ordered routes: a route that can never match, because an earlier route of the
/// same port has the same routing key and the same conditions, is reported, so nothing a user applied is dropped
/// silently.
/// </summary>
internal static class ShadowedRoutes
{
    /// <summary>
    /// The problems of <paramref name="routes"/> (ordered as tried, see <see cref="PlannedRoute.CompareFor"/>) for
    /// <paramref name="port"/>: one per RouteGroup rule that an earlier route shadows.
    /// </summary>
    public static ManifestProblem[] Find(ServicePortId port, PlannedRoute[] routes)
    {
        if (routes.Length < 2)
        {
            return [];
        }

        var first = new Dictionary<string, PlannedRoute>(StringComparer.Ordinal);
        var problems = new List<ManifestProblem>();
        foreach (var route in routes)
        {
            var key = route.RoutingKey + "\n" + route.ConditionsKey;
            if (first.TryGetValue(key, out var winner))
            {
                // Only RouteGroup rules are reported: that RouteGroups override a Sandbox's or a laptop's routes for
                // the same key is the documented precedence, not a mistake.
                if (route.Origin.Kind == RouteGroup.KindName)
                {
                    problems.Add(new ManifestProblem(
                        route.Origin,
                        $"spec.routes[{route.RuleIndex}]",
                        $"never used for {port.Service}.{port.Namespace}:{port.Port}: {winner.Origin} spec.routes[{winner.RuleIndex}] routes the same key '{route.RoutingKey}' with the same conditions first") { Kind = ProblemKind.Conflict });
                }
            }
            else
            {
                first[key] = route;
            }
        }

        return [.. problems];
    }
}
