using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>A destination resolved to a cluster.</summary>
/// <param name="Cluster">The cluster name.</param>
/// <param name="Weight">Its share (percent); 100 for a single destination.</param>
/// <param name="LocalWorkload">The LocalWorkload it reaches through the tunnel broker, if any.</param>
internal sealed record PlannedDestination(string Cluster, int Weight, LocalWorkload? LocalWorkload);

/// <summary>
/// One keyed route for one Service port, resolved: the key, the extra match, where to send, and the rule it came
/// from (headers to add, timeout, retries). Instances are reused while their source object is unchanged, so
/// reference equality says "nothing changed".
/// </summary>
internal sealed record PlannedRoute(
    ResourceKey Origin,
    int RuleIndex,
    int Precedence,
    string RoutingKey,
    RouteMatch? Match,
    IReadOnlyList<PlannedDestination> To,
    RouteRule? Rule)
{
    /// <summary>
    /// More specific routes first: longer path prefix, then more header conditions. A prefix of <c>/</c> matches what
    /// no prefix matches and counts the same (as in <see cref="ConditionsKey"/>), so it cannot jump a tie.
    /// </summary>
    public int Specificity => ((Match?.PathPrefix is { Length: > 1 } prefix ? prefix.Length : 0) * 64) + (Match?.Headers?.Count ?? 0);

    public string Name => $"{RoutingKey}|{Origin.Kind}/{Origin.Namespace}/{Origin.Name}#{RuleIndex}";

    /// <summary>The extra conditions in canonical form: routes with equal keys here match the same requests.</summary>
    public string ConditionsKey =>
        (Match?.PathPrefix ?? "/") + "\n" + string.Join("\n", (Match?.Headers ?? [])
            .Select(h => $"{h.Name.ToLowerInvariant()}|{h.Exact}|{h.Prefix}|{h.Regex}|{h.Present}")
            .Order(StringComparer.Ordinal));

    /// <summary>
    /// Orders the routes of a Service in <paramref name="serviceNamespace"/> the way they are tried: specific first,
    /// then RouteGroups, LocalWorkloads, Sandboxes, then by key; for the same key, routes from the Service's own
    /// namespace before routes from namespaces it allowed, then by origin.
    /// </summary>
    public static Comparison<PlannedRoute> CompareFor(string serviceNamespace) => (a, b) =>
    {
        var order = Compare(a, b, out var byOrigin);
        if (order != 0)
        {
            return order;
        }

        var ownerFirst = (b.Origin.Namespace == serviceNamespace).CompareTo(a.Origin.Namespace == serviceNamespace);
        return ownerFirst != 0 ? ownerFirst : byOrigin;
    };

    /// <summary>Orders routes the way they are tried: specific first, then RouteGroups, LocalWorkloads, Sandboxes, then by key and origin.</summary>
    public static int Compare(PlannedRoute a, PlannedRoute b)
    {
        var order = Compare(a, b, out var byOrigin);
        return order != 0 ? order : byOrigin;
    }

    /// <summary>The order up to the routing key; <paramref name="byOrigin"/> breaks ties after it.</summary>
    private static int Compare(PlannedRoute a, PlannedRoute b, out int byOrigin)
    {
        byOrigin = 0;
        var bySpecificity = b.Specificity.CompareTo(a.Specificity);
        if (bySpecificity != 0)
        {
            return bySpecificity;
        }

        var byPrecedence = a.Precedence.CompareTo(b.Precedence);
        if (byPrecedence != 0)
        {
            return byPrecedence;
        }

        var byKey = string.CompareOrdinal(a.RoutingKey, b.RoutingKey);
        if (byKey != 0)
        {
            return byKey;
        }

        var origin = ResourceKey.Order.Compare(a.Origin, b.Origin);
        byOrigin = origin != 0 ? origin : a.RuleIndex.CompareTo(b.RuleIndex);
        return 0;
    }
}

/// <summary>
/// What the node groups' assemblers build from: every Service port's state, and the virtual hosts that are not a
/// Service port's (preview hosts, <see cref="PlannedVirtualHost"/>).
/// </summary>
/// <param name="Ports">The Service ports, with their keyed routes.</param>
/// <param name="Hosts">The other virtual hosts, served at the gateway.</param>
internal sealed record RoutingPlan(ServicePortTable Ports, IReadOnlyList<PlannedVirtualHost> Hosts);
