using XdsControlPlane.Model;
using XdsControlPlane.Translation.HttpFilters;

namespace XdsControlPlane.Translation;

/// <summary>
/// Translates the routing inputs (Services, EndpointSlices, RouteGroups, Sandboxes, LocalWorkloads) into the Envoy
/// resources of every node group (<see cref="DataPlaneRoles"/>). The output is a pure function of the input: identical
/// input gives identical resources and versions. Between calls it remembers what it built, keyed by the input objects'
/// identity, so a change to one RouteGroup re-translates only the Service ports it routes. Not thread-safe: one caller
/// at a time.
/// </summary>
/// <remarks>
/// The work is split along its seams: <see cref="RoutePlanner"/> resolves each routing object into keyed routes per
/// Service port (and validates what only the whole set shows, <see cref="ShadowedRoutes"/>);
/// <see cref="ServicePortStates"/> keeps each port's state between translations; <see cref="ServiceClusterCache"/>
/// builds clusters and endpoints; an <see cref="IVirtualHostPlanner"/> plans the virtual hosts that are not a Service
/// port's (preview hosts); one <see cref="NodeGroupAssembler"/> per data-plane role builds that group's listeners and
/// route configurations from the <see cref="RoutingPlan"/>, running the HTTP filters of <see cref="HttpFilterRegistry"/>.
/// </remarks>
public sealed class RoutingTranslator : IRoutingTranslator
{
    private readonly RoutePlanner _planner;
    private readonly IVirtualHostPlanner _hosts;
    private readonly ServicePortStates _ports = new();
    private readonly ServiceClusterCache _clusters;
    private readonly NodeGroupAssembler[] _groups;
    private readonly string _clusterDomain;
    private TranslationState? _last;

    /// <summary>A translator with <paramref name="options"/> (defaults when null); with a preview domain it serves preview hosts (<see cref="PreviewHostPlanner"/>).</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public RoutingTranslator(TranslationOptions? options = null)
        : this(options, HttpFilterRegistry.Product, new PreviewHostPlanner(options ?? new TranslationOptions()))
    {
    }

    /// <summary>A translator with other HTTP filters and other virtual hosts than the product's (tests, previews).</summary>
    internal RoutingTranslator(TranslationOptions? options, HttpFilterRegistry filters, IVirtualHostPlanner hosts)
    {
        options ??= new TranslationOptions();
        if (options.Validate().ToArray() is { Length: > 0 } problems)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        filters = filters.For(options);
        var clusters = new ClusterTranslator(options);
        var builders = new ResourceBuilders(options, new RouteTranslator(options), new ListenerTranslator(options, filters), clusters, filters);
        _planner = new RoutePlanner(options);
        _clusterDomain = options.ClusterDomain;
        _hosts = hosts;
        _clusters = new ServiceClusterCache(options, clusters);
        _groups = [.. DataPlaneRoles.All.Select(role => NodeGroupAssembler.For(role, builders))];
    }

    /// <inheritdoc />
    public TranslationResult Translate(RoutingInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (_last is null || !TryUpdate(_last, inputs))
        {
            _last = TranslateFully(inputs);
        }

        return Emit(_last);
    }

    private TranslationState TranslateFully(RoutingInputs inputs)
    {
        var plans = _planner.PlanAll(inputs).ToArray();
        var routesByPort = new Dictionary<ServicePortId, List<PlannedRoute>>();
        var localClusters = new SortedDictionary<string, (LocalWorkload Workload, int Port)>(StringComparer.Ordinal);
        foreach (var plan in plans)
        {
            AddRoutes(routesByPort, plan);
            foreach (var (port, route) in plan.Routes)
            {
                foreach (var destination in route.To)
                {
                    if (destination.LocalWorkload is { } workload)
                    {
                        localClusters.TryAdd(destination.Cluster, (workload, port.Port));
                    }
                }
            }
        }

        var routing = new RoutingPlan(_ports.Build(inputs, routesByPort), _hosts.Plan(inputs));

        // The clusters and each node group's assembly read the plan and write only their own caches: build them side
        // by side (a cold start at 10,000 RouteGroups spends seconds here).
        ClusterResources? clusters = null;
        Parallel.Invoke([() => clusters = _clusters.Build(inputs, routing.Ports, localClusters), .. _groups.Select(group => (Action)(() => group.Assemble(routing)))]);

        return new TranslationState(inputs, plans, routesByPort, routing, clusters!, new EndpointAssignments(routing.Ports, _clusterDomain));
    }

    /// <summary>
    /// The fast paths for the common changes, while Services, Sandboxes and LocalWorkloads stay the same objects:
    /// EndpointSlices edited (<see cref="UpdateEndpoints"/>), or RouteGroups edited — which re-plans the changed
    /// RouteGroups and rebuilds only the Service ports they route. Returns false (changing nothing) when the change
    /// needs a full translation.
    /// </summary>
    private bool TryUpdate(TranslationState last, RoutingInputs inputs)
    {
        var previous = last.Inputs;
        if (inputs.RouteGroups.Count != previous.RouteGroups.Count
            || !ReferenceLists.Equal(inputs.Services, previous.Services)
            || !ReferenceLists.Equal(inputs.Sandboxes, previous.Sandboxes) || !ReferenceLists.Equal(inputs.LocalWorkloads, previous.LocalWorkloads))
        {
            return false;
        }

        if (!ReferenceLists.Equal(inputs.EndpointSlices, previous.EndpointSlices))
        {
            return ReferenceLists.Equal(inputs.RouteGroups, previous.RouteGroups) && UpdateEndpoints(last, inputs);
        }

        var changed = new List<(int Index, RoutePlanner.Plan Plan)>();
        for (var i = 0; i < inputs.RouteGroups.Count; i++)
        {
            var now = inputs.RouteGroups[i];
            var before = previous.RouteGroups[i];
            if (ReferenceEquals(now, before))
            {
                continue;
            }

            if (now.Metadata.Namespace != before.Metadata.Namespace || now.Metadata.Name != before.Metadata.Name)
            {
                return false;
            }

            var plan = _planner.PlanOne(now, inputs);
            if (plan.ReachesLocalWorkload || last.Plans[i].ReachesLocalWorkload)
            {
                return false;
            }

            changed.Add((i, plan));
        }

        var touched = new HashSet<ServicePortId>();
        foreach (var (index, plan) in changed)
        {
            foreach (var (port, route) in last.Plans[index].Routes)
            {
                last.RoutesByPort[port].Remove(route);
                touched.Add(port);
            }

            AddRoutes(last.RoutesByPort, plan);
            foreach (var (port, _) in plan.Routes)
            {
                touched.Add(port);
            }

            last.Plans[index] = plan;
        }

        last.Inputs = inputs;
        var refreshed = new List<ServicePortState>(touched.Count);
        foreach (var id in touched)
        {
            if (last.Plan.Ports.TryGet(id, out var port))
            {
                var now = _ports.Refresh(port, last.RoutesByPort.GetValueOrDefault(id));
                last.Plan.Ports.Replace(now);
                refreshed.Add(now);
            }
        }

        if (refreshed.Count > 0)
        {
            foreach (var group in _groups)
            {
                group.Reassemble(last.Plan, refreshed);
            }
        }

        return true;
    }

    /// <summary>
    /// The fast path for an endpoint change — only EndpointSlices differ: rebuilds the ClusterLoadAssignments of the
    /// Services whose slices changed (routes, listeners and clusters do not read endpoints).
    /// </summary>
    private bool UpdateEndpoints(TranslationState last, RoutingInputs inputs)
    {
        var before = new HashSet<EndpointSlice>(last.Inputs.EndpointSlices, ReferenceEqualityComparer.Instance);
        var services = new HashSet<(string Namespace, string Service)>();
        foreach (var slice in inputs.EndpointSlices)
        {
            if (!before.Remove(slice))
            {
                services.Add((slice.Metadata.Namespace, slice.ServiceName!));
            }
        }

        foreach (var gone in before)
        {
            services.Add((gone.Metadata.Namespace, gone.ServiceName!));
        }

        last.Inputs = inputs;
        last.Clusters = _clusters.RefreshEndpoints(inputs, last.Plan.Ports, last.Clusters, services);
        return true;
    }

    private static void AddRoutes(Dictionary<ServicePortId, List<PlannedRoute>> routesByPort, RoutePlanner.Plan plan)
    {
        foreach (var (port, route) in plan.Routes)
        {
            if (!routesByPort.TryGetValue(port, out var list))
            {
                routesByPort[port] = list = [];
            }

            list.Add(route);
        }
    }

    /// <summary>The node groups' resource lists and the problems, from the state (new lists: results already handed out stay as they were).</summary>
    private TranslationResult Emit(TranslationState state)
    {
        var groups = new Dictionary<string, IReadOnlyList<XdsResource>>(_groups.Length, StringComparer.Ordinal);
        foreach (var group in _groups)
        {
            groups[group.Role] = group.Resources(state.Plan, state.Clusters);
        }

        var problems = new List<ManifestProblem>();
        foreach (var plan in state.Plans)
        {
            if (plan.Problems.Count > 0)
            {
                problems.AddRange(plan.Problems);
            }
        }

        foreach (var port in state.Plan.Ports.All)
        {
            if (port.Problems.Length > 0)
            {
                problems.AddRange(port.Problems);
            }
        }

        var (ports, hosts) = (state.Plan.Ports, state.Plan.Hosts);
        var domain = _clusterDomain;
        return new TranslationResult(groups, problems) { Endpoints = state.Endpoints, OwnersOf = host => VirtualHostOwners.Of(ports, hosts, host, domain) };
    }

    /// <summary>What the last translation produced, kept so the next one can patch it.</summary>
    private sealed class TranslationState(RoutingInputs inputs, RoutePlanner.Plan[] plans, Dictionary<ServicePortId, List<PlannedRoute>> routesByPort, RoutingPlan plan, ClusterResources clusters, EndpointAssignments endpoints)
    {
        public RoutingInputs Inputs { get; set; } = inputs;

        /// <summary>Every routing object's plan, in <see cref="RoutePlanner.PlanAll"/> order (RouteGroups first, by index).</summary>
        public RoutePlanner.Plan[] Plans { get; } = plans;

        /// <summary>The planned routes of each Service port, unsorted.</summary>
        public Dictionary<ServicePortId, List<PlannedRoute>> RoutesByPort { get; } = routesByPort;

        /// <summary>The Service ports' state (patched in place by the fast path) and the other virtual hosts.</summary>
        public RoutingPlan Plan { get; } = plan;

        public ClusterResources Clusters { get; set; } = clusters;

        /// <summary>The Services' ports as clusters (the fast paths keep every Service and port, so this stays true).</summary>
        public EndpointAssignments Endpoints { get; } = endpoints;
    }
}
