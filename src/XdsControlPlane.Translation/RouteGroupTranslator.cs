using Envoy.Config.Route.V3;
using XdsControlPlane.Model;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Translation;

/// <summary>
/// Translates the inputs (Services, EndpointSlices, RouteGroups, Sandboxes, LocalWorkloads) into the Envoy
/// resources of every data-plane role (<see cref="DataPlaneRoles"/>). The output is a pure function of the input:
/// identical input gives identical resources and versions. Between calls it remembers what it built, keyed by the
/// input objects' identity, so a change to one RouteGroup re-translates only the Service ports it routes.
/// Not thread-safe: one caller at a time.
/// </summary>
public sealed class RouteGroupTranslator
{
    private static readonly RouteFlavor GatewayFlavor = new(CookieAndQuery: true, LegacyHeaderMatchers: false, Connect: true);
    private static readonly RouteFlavor SidecarFlavor = new(CookieAndQuery: false, LegacyHeaderMatchers: false, Connect: false);
    private static readonly RouteFlavor GrpcFlavor = new(CookieAndQuery: false, LegacyHeaderMatchers: false, Connect: false);
    private static readonly RouteFlavor GrpcLegacyFlavor = new(CookieAndQuery: false, LegacyHeaderMatchers: true, Connect: false);

    private readonly TranslationOptions _options;
    private readonly RoutePlanner _planner;
    private readonly ClusterTranslator _clusters;
    private readonly RouteTranslator _routes;
    private readonly ListenerTranslator _listeners;
    private readonly XdsResource _gatewayListener;
    private readonly XdsResource _virtualOutbound;
    private readonly XdsResource _passthroughCluster;
    private readonly Dictionary<int, XdsResource> _sidecarPortListeners = [];
    private Dictionary<ServicePortId, ClusterEntry> _clusterCache = [];
    private Dictionary<(string Group, ServicePortId Port), HostEntry> _hostCache = [];
    private Dictionary<string, AggregateEntry> _aggregateCache = new(StringComparer.Ordinal);

    /// <summary>A translator with <paramref name="options"/> (defaults when null).</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public RouteGroupTranslator(TranslationOptions? options = null)
    {
        _options = options ?? new TranslationOptions();
        if (_options.Validate().ToArray() is { Length: > 0 } problems)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _planner = new RoutePlanner(_options);
        _clusters = new ClusterTranslator(_options);
        _routes = new RouteTranslator(_options);
        _listeners = new ListenerTranslator(_options);
        _gatewayListener = XdsResource.Create(_listeners.Gateway());
        _virtualOutbound = XdsResource.Create(_listeners.SidecarVirtualOutbound());
        _passthroughCluster = XdsResource.Create(_clusters.Passthrough());
    }

    /// <summary>Translates <paramref name="inputs"/> into the resources of every node group.</summary>
    public TranslationResult Translate(RoutingInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var problems = new List<ManifestProblem>();
        var routesByPort = new Dictionary<ServicePortId, List<PlannedRoute>>();
        var localClusters = new SortedDictionary<string, (LocalWorkload Workload, int Port)>(StringComparer.Ordinal);
        foreach (var plan in _planner.PlanAll(inputs))
        {
            problems.AddRange(plan.Problems);
            foreach (var (port, route) in plan.Routes)
            {
                if (!routesByPort.TryGetValue(port, out var list))
                {
                    routesByPort[port] = list = [];
                }

                list.Add(route);
                foreach (var destination in route.To.Where(d => d.LocalWorkload is not null))
                {
                    localClusters.TryAdd(destination.Cluster, (destination.LocalWorkload!, port.Port));
                }
            }
        }

        var shortNames = inputs.Services.GroupBy(s => s.Metadata.Name, StringComparer.Ordinal)
            .Where(g => g.Count() == 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var ports = new List<PortState>();
        foreach (var service in inputs.Services)
        {
            var primary = service.Spec.Ports.Where(p => p.Protocol == "TCP" && PortProtocols.Of(p).IsHttp()).Select(p => (int?)p.Port).Min();
            foreach (var port in service.Spec.Ports.Where(p => p.Protocol == "TCP").OrderBy(p => p.Port))
            {
                var id = new ServicePortId(service.Metadata.Namespace, service.Metadata.Name, port.Port);
                PlannedRoute[] routes = routesByPort.TryGetValue(id, out var list) ? [.. list.Order(Comparer<PlannedRoute>.Create(PlannedRoute.Compare))] : [];
                ports.Add(new PortState(service, port, id, PortProtocols.Of(port), shortNames.Contains(service.Metadata.Name), primary == port.Port, routes));
            }
        }

        var clusterResources = BuildClusters(inputs, ports, localClusters);
        var groups = new Dictionary<string, IReadOnlyList<XdsResource>>(StringComparer.Ordinal)
        {
            [DataPlaneRoles.Gateway] = [_gatewayListener, Aggregate(DataPlaneRoles.Gateway, ListenerTranslator.GatewayListener, ports, GatewayFlavor, p => true), .. clusterResources],
            [DataPlaneRoles.Sidecar] = [.. Sidecar(ports), _passthroughCluster, .. clusterResources],
            [DataPlaneRoles.Grpc] = [.. Grpc(DataPlaneRoles.Grpc, ports, GrpcFlavor), .. clusterResources],
            [DataPlaneRoles.GrpcLegacy] = [.. Grpc(DataPlaneRoles.GrpcLegacy, ports, GrpcLegacyFlavor), .. clusterResources],
        };
        return new TranslationResult(groups, problems);
    }

    private List<XdsResource> BuildClusters(RoutingInputs inputs, List<PortState> ports, SortedDictionary<string, (LocalWorkload Workload, int Port)> localClusters)
    {
        var resources = new List<XdsResource>(ports.Count * 2 + localClusters.Count);
        var cache = new Dictionary<ServicePortId, ClusterEntry>(ports.Count);
        foreach (var port in ports)
        {
            var slices = inputs.SlicesOf(port.Id.Namespace, port.Id.Service);
            if (!_clusterCache.TryGetValue(port.Id, out var entry) || !ReferenceEquals(entry.Service, port.Service) || !SameItems(entry.Slices, slices))
            {
                var name = port.Id.ClusterName(_options.ClusterDomain);
                entry = new ClusterEntry(
                    port.Service,
                    [.. slices],
                    XdsResource.Create(_clusters.ServiceCluster(port.Id, port.Protocol)),
                    XdsResource.Create(ClusterTranslator.Endpoints(name, port.Port, slices)));
            }

            cache[port.Id] = entry;
            resources.Add(entry.Cluster);
            resources.Add(entry.Endpoints);
        }

        _clusterCache = cache;
        foreach (var (name, (workload, port)) in localClusters)
        {
            resources.Add(XdsResource.Create(_clusters.LocalWorkloadCluster(name, workload, port)));
        }
        return resources;
    }

    private IEnumerable<XdsResource> Sidecar(List<PortState> ports)
    {
        yield return _virtualOutbound;
        foreach (var group in ports.Where(p => p.Protocol.IsHttp()).GroupBy(p => p.Port.Port).OrderBy(g => g.Key))
        {
            if (!_sidecarPortListeners.TryGetValue(group.Key, out var listener))
            {
                _sidecarPortListeners[group.Key] = listener = XdsResource.Create(ListenerTranslator.SidecarPort(group.Key));
            }

            yield return listener;
            yield return Aggregate(DataPlaneRoles.Sidecar, ListenerTranslator.SidecarRouteName(group.Key), group.ToList(), SidecarFlavor, p => true, allowAny: true);
        }
    }

    private IEnumerable<XdsResource> Grpc(string group, List<PortState> ports, RouteFlavor flavor)
    {
        foreach (var port in ports.Where(p => p.Protocol.IsHttp()))
        {
            var fqdn = port.Id.Fqdn(_options.ClusterDomain);
            var portText = ClusterTranslator.Text(port.Id.Port);
            var routeName = $"{fqdn}:{portText}";
            var host = Host(group, port, flavor, ["*"]);
            var key = $"{group}|{routeName}";
            if (!_aggregateCache.TryGetValue(key, out var entry) || entry.Hosts.Length != 1 || !ReferenceEquals(entry.Hosts[0], host))
            {
                var config = new RouteConfiguration { Name = routeName, VirtualHosts = { host } };
                var shortName = $"{port.Id.Service}.{port.Id.Namespace}";
                string[] names = port.Primary ? [$"{shortName}:{portText}", routeName, shortName, fqdn] : [$"{shortName}:{portText}", routeName];
                XdsResource[] listeners = [.. names.Select(name => XdsResource.Create(ListenerTranslator.GrpcApiListener(name, routeName)))];
                entry = new AggregateEntry([host], XdsResource.Create(config), listeners);
            }

            _aggregateCache[key] = entry;
            foreach (var listener in entry.Extra)
            {
                yield return listener;
            }

            yield return entry.Resource;
        }
    }

    private XdsResource Aggregate(string group, string routeName, List<PortState> ports, RouteFlavor flavor, Func<PortState, bool> include, bool allowAny = false)
    {
        var hosts = new List<VirtualHost>(ports.Count + 1);
        foreach (var port in ports.Where(include))
        {
            if (!port.Protocol.IsHttp() && !flavor.Connect)
            {
                continue;
            }

            hosts.Add(Host(group, port, flavor, Domains(port, perPortListener: allowAny)));
        }

        var key = $"{group}|{routeName}";
        if (_aggregateCache.TryGetValue(key, out var entry) && entry.Hosts.AsSpan().SequenceEqual(hosts.ToArray(), ReferenceEqualityComparer.Instance))
        {
            return entry.Resource;
        }

        var config = new RouteConfiguration { Name = routeName };
        config.VirtualHosts.AddRange(hosts);
        if (allowAny)
        {
            config.VirtualHosts.Add(new VirtualHost
            {
                Name = "allow_any",
                Domains = { "*" },
                Routes = { new Route { Name = "passthrough", Match = new Envoy.Config.Route.V3.RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = ClusterTranslator.PassthroughCluster, Timeout = EnvoyBuilding.Duration(TimeSpan.Zero) } } },
            });
        }

        entry = new AggregateEntry([.. hosts], XdsResource.Create(config), []);
        _aggregateCache[key] = entry;
        return entry.Resource;
    }

    private VirtualHost Host(string group, PortState port, RouteFlavor flavor, IReadOnlyList<string> domains)
    {
        var key = (group, port.Id);
        if (_hostCache.TryGetValue(key, out var entry) && entry.Matches(port))
        {
            return entry.Host;
        }

        var host = new VirtualHost { Name = $"{port.Id.Fqdn(_options.ClusterDomain)}:{ClusterTranslator.Text(port.Id.Port)}" };
        host.Domains.AddRange(domains);
        host.Routes.AddRange(_routes.Routes(port.Id.ClusterName(_options.ClusterDomain), port.Protocol.IsHttp(), port.Routes, flavor));
        _hostCache[key] = new HostEntry(port, host);
        return host;
    }

    private List<string> Domains(PortState port, bool perPortListener)
    {
        var portText = ClusterTranslator.Text(port.Id.Port);
        var names = new List<string> { $"{port.Id.Service}.{port.Id.Namespace}", port.Id.Fqdn(_options.ClusterDomain) };
        if (port.ShortNameUnique)
        {
            names.Insert(0, port.Id.Service);
        }

        if (perPortListener && port.Service.Spec.ClusterIP is { Length: > 0 } ip && ip != "None")
        {
            names.Add(ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : ip);
        }

        var domains = names.Select(n => $"{n}:{portText}").ToList();
        if (perPortListener || port.Primary)
        {
            domains.AddRange(names);
        }

        domains.Sort(StringComparer.Ordinal);
        return domains;
    }

    private static bool SameItems(EndpointSlice[] a, IReadOnlyList<EndpointSlice> b)
    {
        if (a.Length != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            if (!ReferenceEquals(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    private sealed record PortState(KubeService Service, KubeServicePort Port, ServicePortId Id, PortProtocol Protocol, bool ShortNameUnique, bool Primary, PlannedRoute[] Routes);

    private sealed record ClusterEntry(KubeService Service, EndpointSlice[] Slices, XdsResource Cluster, XdsResource Endpoints);

    private sealed record AggregateEntry(VirtualHost[] Hosts, XdsResource Resource, XdsResource[] Extra);

    private sealed record HostEntry(PortState State, VirtualHost Host)
    {
        public bool Matches(PortState port) =>
            ReferenceEquals(State.Service, port.Service) && State.ShortNameUnique == port.ShortNameUnique && State.Primary == port.Primary
            && State.Routes.AsSpan().SequenceEqual(port.Routes, ReferenceEqualityComparer.Instance);
    }
}
