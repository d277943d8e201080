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
        /// <summary>Whether any route sends traffic to a LocalWorkload.</summary>
        public bool ReachesLocalWorkload => Routes.Any(r => r.Route.To.Any(d => d.LocalWorkload is not null));
    }

    /// <summary>Plans every routing object of <paramref name="inputs"/>, in a deterministic order.</summary>
    public IReadOnlyList<Plan> PlanAll(RoutingInputs inputs)
    {
        object[] inventory = [.. inputs.Services, .. inputs.Sandboxes, .. inputs.LocalWorkloads];
        var reuse = inventory.Length == _inventory.Length && inventory.AsSpan().SequenceEqual(_inventory, ReferenceEqualityComparer.Instance);
        var previous = reuse ? _plans : [];
        var plans = new Dictionary<IManifestObject, Plan>(ReferenceEqualityComparer.Instance);
        var result = new List<Plan>(inputs.RouteGroups.Count + inputs.Sandboxes.Count + inputs.LocalWorkloads.Count);
        IEnumerable<IManifestObject> sources = [.. inputs.RouteGroups, .. inputs.LocalWorkloads, .. inputs.Sandboxes];
        foreach (var source in sources)
        {
            if (!previous.TryGetValue(source, out var plan))
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
    public Plan PlanOne(IManifestObject source, RoutingInputs inputs) => source switch
    {
        RouteGroup group => PlanRouteGroup(group, inputs),
        LocalWorkload workload => PlanLocalWorkload(workload, inputs),
        _ => PlanSandbox((Sandbox)source, inputs),
    };

    private Plan PlanRouteGroup(RouteGroup group, RoutingInputs inputs)
    {
        var routes = new List<(ServicePortId, PlannedRoute)>();
        var problems = new List<ManifestProblem>();
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
                problems.Add(new ManifestProblem(group.Key, $"{path}.service", $"Service {baselineNs}/{baselineName} does not exist; route skipped") { Kind = ProblemKind.UnresolvedReference });
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
                    var destination = ResolveDestination(to[d], ns, baseline, port, inputs, out var problem);
                    if (destination is null)
                    {
                        if (problem is not null)
                        {
                            problems.Add(new ManifestProblem(group.Key, $"{path}.to[{d}]", problem) { Kind = ProblemKind.UnresolvedReference });
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

        return new Plan(routes, problems);
    }

    private PlannedDestination? ResolveDestination(Destination destination, string ns, KubeService baseline, KubeServicePort port, RoutingInputs inputs, out string? problem)
    {
        problem = null;
        var weight = destination.Weight ?? 100;
        var portText = port.Port.ToString(CultureInfo.InvariantCulture);
        if (destination.Service is { } reference)
        {
            var (serviceNs, name) = RoutingInputs.ParseServiceReference(reference, ns);
            var service = inputs.FindService(serviceNs, name);
            if (service?.FindPort(port.Port) is null)
            {
                problem = $"Service {serviceNs}/{name} {(service is null ? "does not exist" : "has no port " + portText)}; route skipped";
                return null;
            }

            return new PlannedDestination(new ServicePortId(serviceNs, name, port.Port).ClusterName(options.ClusterDomain), weight, null);
        }

        if (destination.Sandbox is { } sandbox)
        {
            var fork = inputs.FindForkService(ns, sandbox, baseline.Metadata.Name);
            if (fork?.FindPort(port.Port) is null)
            {
                problem = $"Sandbox {ns}/{sandbox} has no fork of Service {baseline.Metadata.Name} with port {portText}; route skipped";
                return null;
            }

            return new PlannedDestination(new ServicePortId(ns, fork.Metadata.Name, port.Port).ClusterName(options.ClusterDomain), weight, null);
        }

        var workload = inputs.FindLocalWorkload(ns, destination.LocalWorkload ?? "");
        if (workload is null || !(workload.Spec.Ports ?? []).Any(p => p.Port == port.Port))
        {
            problem = $"LocalWorkload {ns}/{destination.LocalWorkload} {(workload is null ? "does not exist" : "does not serve port " + portText)}; route skipped";
            return null;
        }

        // A disconnected laptop withdraws its routes: requests fall back to the baseline without a problem report.
        return workload.IsRoutable ? new PlannedDestination(LocalClusterName(workload, port.Port), weight, workload) : null;
    }

    private static Plan PlanLocalWorkload(LocalWorkload workload, RoutingInputs inputs)
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
            var problem = baseline is null
                ? new ManifestProblem(workload.Key, "spec.service", $"Service {ns}/{workload.Spec.Service} does not exist; not routed") { Kind = ProblemKind.UnresolvedReference }
                : new ManifestProblem(workload.Key, "spec.sandbox", $"Sandbox {ns}/{workload.Spec.Sandbox} does not exist; not routed") { Kind = ProblemKind.UnresolvedReference };
            return new Plan([], [problem]);
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

    private Plan PlanSandbox(Sandbox sandbox, RoutingInputs inputs)
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

    private static IEnumerable<KubeServicePort> PortsOf(KubeService service, int? only) =>
        service.Spec.Ports.Where(p => p.Protocol == "TCP" && PortProtocols.Of(p).IsHttp() && (only is null || p.Port == only));
}
