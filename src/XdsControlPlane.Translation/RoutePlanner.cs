using System.Globalization;
using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>
/// Resolves RouteGroups, Sandboxes and LocalWorkloads into keyed routes per Service port. Remembers each source
/// object's result while the object and the inventory it resolves against (Services, Sandboxes, LocalWorkloads)
/// are the same instances, so a change to one object re-plans only that object.
/// </summary>
internal sealed class RoutePlanner(TranslationOptions options)
{
    private Dictionary<IManifestObject, Plan> _plans = new(ReferenceEqualityComparer.Instance);
    private object[] _inventory = [];

    /// <summary>A source object's routes and the problems found resolving it.</summary>
    public sealed record Plan(IReadOnlyList<(ServicePortId Port, PlannedRoute Route)> Routes, IReadOnlyList<ManifestProblem> Problems)
    {
        /// <summary>The lookups the plan was made from: it stays right while they give the same instances.</summary>
        public PlanDependencies Dependencies { get; init; } = PlanDependencies.Unbounded;

        /// <summary>Whether any route sends traffic to a LocalWorkload.</summary>
        public bool ReachesLocalWorkload => Routes.Any(r => r.Route.To.Any(d => d.LocalWorkload is not null));
    }

    /// <summary>Plans every routing object of <paramref name="inputs"/>, in a deterministic order.</summary>
    public IReadOnlyList<Plan> PlanAll(RoutingInputs inputs)
    {
        object[] inventory = [.. inputs.Services, .. inputs.Sandboxes, .. inputs.LocalWorkloads];
        var reuse = inventory.Length == _inventory.Length && inventory.AsSpan().SequenceEqual(_inventory, ReferenceEqualityComparer.Instance);
        var plans = new Dictionary<IManifestObject, Plan>(ReferenceEqualityComparer.Instance);
        var result = new List<Plan>(inputs.RouteGroups.Count + inputs.Sandboxes.Count + inputs.LocalWorkloads.Count);
        IEnumerable<IManifestObject> sources = [.. inputs.RouteGroups, .. inputs.LocalWorkloads, .. inputs.Sandboxes];
        foreach (var source in sources)
        {
            // Same inventory: every plan holds. Otherwise a plan holds while what it looked up is the same.
            if (!_plans.TryGetValue(source, out var plan) || !(reuse || plan.Dependencies.HoldIn(inputs)))
            {
                plan = PlanOne(source, inputs);
            }

            plans[source] = plan;
            result.Add(plan);
        }

        _plans = plans;
        _inventory = inventory;
        return result;
    }

    /// <summary>Plans one routing object against <paramref name="inputs"/> (no caching).</summary>
    public Plan PlanOne(IManifestObject source, RoutingInputs inputs)
    {
        var inventory = new PlanInventory(inputs);
        var plan = source switch
        {
            RouteGroup group => PlanRouteGroup(group, inventory),
            LocalWorkload workload => PlanLocalWorkload(workload, inventory),
            _ => PlanSandbox((Sandbox)source, inventory),
        };
        return plan with { Dependencies = inventory.Dependencies };
    }

    private Plan PlanRouteGroup(RouteGroup group, PlanInventory inputs)
    {
        var routes = new List<(ServicePortId, PlannedRoute)>();
        var problems = new List<ManifestProblem>();
        var unresolved = false;
        var ns = group.Metadata.Namespace;
        var rules = group.Spec.Routes ?? [];
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var path = $"spec.routes[{i}]";
            var (baselineNs, baselineName) = RoutingInputs.ParseServiceReference(rule.Service ?? "", ns);
            var baseline = inputs.FindService(baselineNs, baselineName);
            if (baseline is null)
            {
                unresolved = true;
                continue;
            }

            var ports = PortsOf(baseline, rule.Port).ToArray();
            if (ports.Length == 0)
            {
                problems.Add(new ManifestProblem(group.Key, rule.Port is null ? $"{path}.service" : $"{path}.port", $"Service {baselineNs}/{baselineName} has no HTTP or gRPC port{(rule.Port is { } p ? " " + p.ToString(CultureInfo.InvariantCulture) : "")} to route by key; route skipped") { Kind = ProblemKind.UnresolvedReference });
            }

            foreach (var port in ports)
            {
                var destinations = new List<PlannedDestination>();
                var to = rule.To ?? [];
                for (var d = 0; d < to.Count && destinations is not null; d++)
                {
                    var destination = ResolveDestination(to[d], ns, baseline, port, inputs, out var resolution);
                    if (destination is null)
                    {
                        if (resolution == Resolution.Unresolved)
                        {
                            unresolved = true;
                        }
                        else if (resolution == Resolution.ForkWithoutPort)
                        {
                            problems.Add(new ManifestProblem(group.Key, $"{path}.to[{d}].sandbox", $"Sandbox {ns}/{to[d].Sandbox}'s fork of Service {baseline.Metadata.Name} has no port {port.Port.ToString(CultureInfo.InvariantCulture)}; route skipped") { Kind = ProblemKind.UnresolvedReference });
                        }

                        destinations = null;
                    }
                    else if (to.Count == 1 || to[d].Weight is > 0)
                    {
                        destinations.Add(to.Count == 1 ? destination with { Weight = 100 } : destination);
                    }
                }

                if (destinations is { Count: > 0 })
                {
                    var id = new ServicePortId(baseline.Metadata.Namespace, baseline.Metadata.Name, port.Port);
                    routes.Add((id, new PlannedRoute(group.Key, i, 0, group.EffectiveRoutingKey, rule.Match, destinations, rule)));
                }
            }
        }

        return new Plan(routes, unresolved ? [.. inputs.ReferenceProblems(group), .. problems] : problems);
    }

    private PlannedDestination? ResolveDestination(Destination destination, string ns, KubeService baseline, KubeServicePort port, PlanInventory inputs, out Resolution resolution)
    {
        resolution = Resolution.Unresolved;
        var weight = destination.Weight ?? 100;
        if (destination.Service is { } reference)
        {
            var (serviceNs, name) = RoutingInputs.ParseServiceReference(reference, ns);
            if (inputs.FindService(serviceNs, name)?.FindPort(port.Port) is null)
            {
                return null;
            }

            resolution = Resolution.Resolved;
            return new PlannedDestination(new ServicePortId(serviceNs, name, port.Port).ClusterName(options.ClusterDomain), weight, null);
        }

        if (destination.Sandbox is { } sandbox)
        {
            var fork = inputs.FindForkService(ns, sandbox, baseline.Metadata.Name);
            if (fork?.FindPort(port.Port) is null)
            {
                // Validation checks that the fork exists, not its ports.
                resolution = fork is null ? Resolution.Unresolved : Resolution.ForkWithoutPort;
                return null;
            }

            resolution = Resolution.Resolved;
            return new PlannedDestination(new ServicePortId(ns, fork.Metadata.Name, port.Port).ClusterName(options.ClusterDomain), weight, null);
        }

        var workload = inputs.FindLocalWorkload(ns, destination.LocalWorkload ?? "");
        if (workload is null || !(workload.Spec.Ports ?? []).Any(p => p.Port == port.Port))
        {
            return null;
        }

        // A laptop without a live tunnel (never connected, or disconnected) has no routes: requests fall back to the
        // baseline without a problem report.
        resolution = Resolution.Resolved;
        return workload.TunnelEndpoint(port.Port) is not null ? new PlannedDestination(LocalClusterName(workload, port.Port), weight, workload) : null;
    }

    private static Plan PlanLocalWorkload(LocalWorkload workload, PlanInventory inputs)
    {
        var ns = workload.Metadata.Namespace;
        var baseline = inputs.FindService(ns, workload.Spec.Service ?? "");
        string? key = workload.Spec.RoutingKey;
        if (key is null && workload.Spec.Sandbox is { } sandboxName)
        {
            key = inputs.FindSandbox(ns, sandboxName)?.EffectiveRoutingKey;
        }

        if (baseline is null || key is null)
        {
            return new Plan([], [.. inputs.ReferenceProblems(workload)]);
        }

        if (!workload.IsRoutable)
        {
            return new Plan([], []);
        }

        var routes = new List<(ServicePortId, PlannedRoute)>();
        var ports = workload.Spec.Ports ?? [];
        for (var i = 0; i < ports.Count; i++)
        {
            if (ports[i].Protocol == "tcp" || baseline.FindPort(ports[i].Port) is not { } port || !PortProtocols.Of(port).IsHttp())
            {
                continue;
            }

            var destination = new PlannedDestination(LocalClusterName(workload, port.Port), 100, workload);
            routes.Add((new ServicePortId(ns, baseline.Metadata.Name, port.Port), new PlannedRoute(workload.Key, i, 1, key, null, [destination], null)));
        }

        return new Plan(routes, []);
    }

    private Plan PlanSandbox(Sandbox sandbox, PlanInventory inputs)
    {
        var routes = new List<(ServicePortId, PlannedRoute)>();
        var ns = sandbox.Metadata.Namespace;
        foreach (var (baselineName, fork) in inputs.ForkServicesOf(sandbox))
        {
            if (inputs.FindService(ns, baselineName) is not { } baseline)
            {
                continue;
            }

            foreach (var port in PortsOf(baseline, null).Where(p => fork.FindPort(p.Port) is not null))
            {
                var destination = new PlannedDestination(new ServicePortId(ns, fork.Metadata.Name, port.Port).ClusterName(options.ClusterDomain), 100, null);
                routes.Add((new ServicePortId(ns, baselineName, port.Port), new PlannedRoute(sandbox.Key, 0, 2, sandbox.EffectiveRoutingKey, null, [destination], null)));
            }
        }

        return new Plan(routes, []);
    }

    /// <summary>The cluster that carries a LocalWorkload's port through the tunnel broker.</summary>
    public static string LocalClusterName(LocalWorkload workload, int port) =>
        string.Create(CultureInfo.InvariantCulture, $"local|{port}||{workload.Metadata.Name}.{workload.Metadata.Namespace}");

    private enum Resolution
    {
        /// <summary>Resolved (a disconnected LocalWorkload resolves to no destination, without a problem).</summary>
        Resolved,

        /// <summary>A reference the validator checks does not resolve.</summary>
        Unresolved,

        /// <summary>The Sandbox's fork exists but lacks the port (validation does not check it).</summary>
        ForkWithoutPort,
    }

    private static IEnumerable<KubeServicePort> PortsOf(KubeService service, int? only) =>
        service.Spec.Ports.Where(p => p.Protocol == "TCP" && PortProtocols.Of(p).IsHttp() && (only is null || p.Port == only));
}
