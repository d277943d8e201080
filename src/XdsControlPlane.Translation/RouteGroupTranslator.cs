using System.Security.Cryptography;
using System.Text;
using Envoy.Config.Route.V3;
using Google.Protobuf;
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

    // Every proxyless gRPC client parses the original HeaderMatcher fields; C-core releases up to at least 1.51 (Debian
    // bookworm's python3-grpcio) NACK string_match. So gRPC clients get the original fields, whatever their version.
    private static readonly RouteFlavor GrpcFlavor = new(CookieAndQuery: false, LegacyHeaderMatchers: true, Connect: false);

    private static readonly HostPart AllowAny = HostPart.Of(new VirtualHost
    {
        Name = "allow_any",
        Domains = { "*" },
        Routes =
        {
            new Route
            {
                Name = "passthrough",
                Match = new global::Envoy.Config.Route.V3.RouteMatch { Prefix = "/" },
                Route_ = new RouteAction { Cluster = ClusterTranslator.PassthroughCluster, Timeout = EnvoyBuilding.Duration(TimeSpan.Zero) },
            },
        },
    });

    private const int GatewayIndex = 0;
    private const int SidecarIndex = 1;
    private const int GrpcIndex = 2;

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
    private Dictionary<ServicePortId, PortCache> _portCaches = [];
    private Dictionary<KubeService, PortSlot[]> _layouts = new(ReferenceEqualityComparer.Instance);
    private Dictionary<string, AggregateEntry> _aggregateCache = new(StringComparer.Ordinal);
    private State? _last;

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
        if (_last is null || !TryUpdate(_last, inputs))
        {
            _last = TranslateFully(inputs);
        }

        return Emit(_last);
    }

    private State TranslateFully(RoutingInputs inputs)
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

        var nameCounts = new Dictionary<string, int>(inputs.Services.Count, StringComparer.Ordinal);
        foreach (var service in inputs.Services)
        {
            nameCounts[service.Metadata.Name] = nameCounts.GetValueOrDefault(service.Metadata.Name) + 1;
        }

        var ports = new List<PortState>(_portCaches.Count);
        var nextCaches = new Dictionary<ServicePortId, PortCache>(_portCaches.Count);
        var nextLayouts = new Dictionary<KubeService, PortSlot[]>(inputs.Services.Count, ReferenceEqualityComparer.Instance);
        foreach (var service in inputs.Services)
        {
            if (!_layouts.TryGetValue(service, out var slots))
            {
                slots = Layout(service);
            }

            nextLayouts[service] = slots;
            var shortNameUnique = nameCounts[service.Metadata.Name] == 1;
            foreach (var slot in slots)
            {
                var cache = _portCaches.GetValueOrDefault(slot.Id) ?? new PortCache();
                nextCaches[slot.Id] = cache;
                ports.Add(PortStateOf(service, slot, shortNameUnique, routesByPort.GetValueOrDefault(slot.Id), cache));
            }
        }

        _portCaches = nextCaches;
        _layouts = nextLayouts;

        var (envoyClusters, grpcClusters) = BuildClusters(inputs, ports, localClusters);
        var state = new State(inputs, plans, routesByPort, [.. ports], envoyClusters, grpcClusters);
        for (var i = 0; i < state.Ports.Length; i++)
        {
            state.PortIndex[state.Ports[i].Id] = i;
        }

        state.GatewayHosts = [.. state.Ports.Select(p => Host(GatewayIndex, p, GatewayFlavor, GatewayDomains))];
        state.GatewayRoutes = Aggregate(GatewayIndex, ListenerTranslator.GatewayListener, state.GatewayHosts);
        foreach (var group in Enumerable.Range(0, state.Ports.Length).Where(i => state.Ports[i].Protocol.IsHttp()).GroupBy(i => state.Ports[i].Port.Port))
        {
            var members = group.ToArray();
            for (var position = 0; position < members.Length; position++)
            {
                state.SidecarPosition[members[position]] = position;
            }

            if (!_sidecarPortListeners.TryGetValue(group.Key, out var listener))
            {
                _sidecarPortListeners[group.Key] = listener = XdsResource.Create(ListenerTranslator.SidecarPort(group.Key));
            }

            HostPart[] hosts = [.. members.Select(i => Host(SidecarIndex, state.Ports[i], SidecarFlavor, SidecarDomains)), AllowAny];
            state.Sidecar[group.Key] = new SidecarPort(listener, hosts, Aggregate(SidecarIndex, ListenerTranslator.SidecarRouteName(group.Key), hosts));
        }

        for (var i = 0; i < state.Ports.Length; i++)
        {
            state.Grpc[i] = GrpcParts(GrpcIndex, state.Ports[i], GrpcFlavor);
        }

        return state;
    }

    /// <summary>
    /// The fast path for the common change — RouteGroups edited while Services, EndpointSlices, Sandboxes and
    /// LocalWorkloads stay the same objects: re-plans the changed RouteGroups and rebuilds only the Service ports they
    /// route. Returns false (changing nothing) when the change needs a full translation.
    /// </summary>
    private bool TryUpdate(State last, RoutingInputs inputs)
    {
        var previous = last.Inputs;
        if (inputs.RouteGroups.Count != previous.RouteGroups.Count
            || !SameObjects(inputs.Services, previous.Services) || !SameObjects(inputs.EndpointSlices, previous.EndpointSlices)
            || !SameObjects(inputs.Sandboxes, previous.Sandboxes) || !SameObjects(inputs.LocalWorkloads, previous.LocalWorkloads))
        {
            return false;
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

        var dirty = new HashSet<int>();
        foreach (var (index, plan) in changed)
        {
            foreach (var (port, route) in last.Plans[index].Routes)
            {
                last.RoutesByPort[port].Remove(route);
                MarkDirty(last, port, dirty);
            }

            AddRoutes(last.RoutesByPort, plan);
            foreach (var (port, _) in plan.Routes)
            {
                MarkDirty(last, port, dirty);
            }

            last.Plans[index] = plan;
        }

        last.Inputs = inputs;
        var sidecarDirty = new SortedSet<int>();
        foreach (var i in dirty)
        {
            var old = last.Ports[i];
            var slot = new PortSlot(old.Id, old.Port, old.Protocol, old.Primary);
            var port = last.Ports[i] = PortStateOf(old.Service, slot, old.ShortNameUnique, last.RoutesByPort.GetValueOrDefault(old.Id), old.Cache);
            last.GatewayHosts[i] = Host(GatewayIndex, port, GatewayFlavor, GatewayDomains);
            if (last.SidecarPosition[i] >= 0)
            {
                last.Sidecar[port.Port.Port].Hosts[last.SidecarPosition[i]] = Host(SidecarIndex, port, SidecarFlavor, SidecarDomains);
                sidecarDirty.Add(port.Port.Port);
            }

            last.Grpc[i] = GrpcParts(GrpcIndex, port, GrpcFlavor);
        }

        if (dirty.Count > 0)
        {
            last.GatewayRoutes = Aggregate(GatewayIndex, ListenerTranslator.GatewayListener, last.GatewayHosts);
        }

        foreach (var number in sidecarDirty)
        {
            var sidecar = last.Sidecar[number];
            last.Sidecar[number] = sidecar with { Routes = Aggregate(SidecarIndex, ListenerTranslator.SidecarRouteName(number), sidecar.Hosts) };
        }

        return true;
    }

    private static void MarkDirty(State state, ServicePortId port, HashSet<int> dirty)
    {
        if (state.PortIndex.TryGetValue(port, out var index))
        {
            dirty.Add(index);
        }
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

    /// <summary>The node groups' resource lists, from the state (new lists: results already handed out stay as they were).</summary>
    private TranslationResult Emit(State state)
    {
        var clusters = state.EnvoyClusters;
        var sidecar = new List<XdsResource>((state.Sidecar.Count * 2) + 2) { _virtualOutbound };
        foreach (var port in state.Sidecar.Values)
        {
            sidecar.Add(port.Listener);
            sidecar.Add(port.Routes);
        }

        sidecar.Add(_passthroughCluster);
        var groups = new Dictionary<string, IReadOnlyList<XdsResource>>(StringComparer.Ordinal)
        {
            [DataPlaneRoles.Gateway] = new SegmentedList<XdsResource>([_gatewayListener, state.GatewayRoutes], clusters),
            [DataPlaneRoles.Sidecar] = new SegmentedList<XdsResource>(sidecar, clusters),
            [DataPlaneRoles.Grpc] = new SegmentedList<XdsResource>([.. state.Grpc, state.GrpcClusters]),
        };
        var problems = new List<ManifestProblem>();
        foreach (var plan in state.Plans)
        {
            if (plan.Problems.Count > 0)
            {
                problems.AddRange(plan.Problems);
            }
        }

        foreach (var port in state.Ports)
        {
            if (port.Problems.Length > 0)
            {
                problems.AddRange(port.Problems);
            }
        }

        return new TranslationResult(groups, problems);
    }

    private static PortState PortStateOf(KubeService service, PortSlot slot, bool shortNameUnique, List<PlannedRoute>? unsorted, PortCache cache)
    {
        var state = cache.State;
        if (state is null || !ReferenceEquals(state.Service, service) || state.ShortNameUnique != shortNameUnique || !SameObjects(cache.Unsorted, (IReadOnlyList<PlannedRoute>?)unsorted ?? []))
        {
            PlannedRoute[] routes = unsorted is null ? [] : [.. unsorted];
            Array.Sort(routes, PlannedRoute.CompareFor(slot.Id.Namespace));
            state = new PortState(service, slot.Port, slot.Id, slot.Protocol, shortNameUnique, slot.Primary, routes, cache, ShadowedRoutes(slot.Id, routes));
            cache.State = state;
            cache.Unsorted = unsorted is null ? [] : [.. unsorted];
        }

        return state;
    }

    /// <summary>
    /// Routes that can never match because an earlier route of the same Service port has the same routing key and the
    /// same conditions: reported, so nothing a user applied is dropped silently.
    /// </summary>
    private static ManifestProblem[] ShadowedRoutes(ServicePortId port, PlannedRoute[] routes)
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

    private static bool SameObjects<T>(IReadOnlyList<T> a, IReadOnlyList<T> b)
        where T : class
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!ReferenceEquals(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The clusters and endpoints of every Service port and LocalWorkload, as Envoy gets them and as proxyless gRPC
    /// clients get them (the two differ only in outlier detection, see <see cref="ClusterTranslator"/>).
    /// </summary>
    private (XdsResource[] Envoy, XdsResource[] Grpc) BuildClusters(RoutingInputs inputs, List<PortState> ports, SortedDictionary<string, (LocalWorkload Workload, int Port)> localClusters)
    {
        var envoy = new List<XdsResource>(ports.Count * 2 + localClusters.Count);
        var grpc = new List<XdsResource>(ports.Count * 2 + localClusters.Count);
        var cache = new Dictionary<ServicePortId, ClusterEntry>(ports.Count);
        foreach (var port in ports)
        {
            var slices = inputs.SlicesOf(port.Id.Namespace, port.Id.Service);
            if (!_clusterCache.TryGetValue(port.Id, out var entry) || !ReferenceEquals(entry.Service, port.Service) || !SameObjects(entry.Slices, slices))
            {
                var name = port.Id.ClusterName(_options.ClusterDomain);
                entry = new ClusterEntry(
                    port.Service,
                    [.. slices],
                    XdsResource.Create(_clusters.ServiceCluster(port.Id, port.Protocol, DataPlaneKind.Envoy)),
                    XdsResource.Create(_clusters.ServiceCluster(port.Id, port.Protocol, DataPlaneKind.ProxylessGrpc)),
                    XdsResource.Create(ClusterTranslator.Endpoints(name, port.Port, slices)));
            }

            cache[port.Id] = entry;
            envoy.Add(entry.EnvoyCluster);
            envoy.Add(entry.Endpoints);
            grpc.Add(entry.GrpcCluster);
            grpc.Add(entry.Endpoints);
        }

        _clusterCache = cache;
        foreach (var (name, (workload, port)) in localClusters)
        {
            var cluster = XdsResource.Create(_clusters.LocalWorkloadCluster(name, workload, port));
            envoy.Add(cluster);
            grpc.Add(cluster);
        }

        return ([.. envoy], [.. grpc]);
    }

    private XdsResource[] GrpcParts(int group, PortState port, RouteFlavor flavor)
    {
        if (!port.Protocol.IsHttp())
        {
            return [];
        }

        var host = Host(group, port, flavor, static _ => ["*"]);
        var entry = port.Cache.Listeners[group];
        if (entry is null || !ReferenceEquals(entry.Hosts[0], host))
        {
            var fqdn = port.Id.Fqdn(_options.ClusterDomain);
            var portText = ClusterTranslator.Text(port.Id.Port);
            var routeName = $"{fqdn}:{portText}";
            var config = new RouteConfiguration { Name = routeName, VirtualHosts = { host.Host } };
            var shortName = $"{port.Id.Service}.{port.Id.Namespace}";
            string[] names = port.Primary ? [$"{shortName}:{portText}", routeName, shortName, fqdn] : [$"{shortName}:{portText}", routeName];
            XdsResource[] resources = [.. names.Select(name => XdsResource.Create(ListenerTranslator.GrpcApiListener(name, routeName))), XdsResource.Create(config)];
            entry = new AggregateEntry([host], resources);
            port.Cache.Listeners[group] = entry;
        }

        return entry.Resources;
    }

    private XdsResource Aggregate(int group, string routeName, HostPart[] hosts)
    {
        var key = $"{DataPlaneRoles.All[group]}|{routeName}";
        var previous = _aggregateCache.GetValueOrDefault(key);
        if (previous is not null && previous.Hosts.AsSpan().SequenceEqual(hosts, ReferenceEqualityComparer.Instance))
        {
            return previous.Resources[0];
        }

        var references = previous is not null && SameClusters(previous.Hosts, hosts) ? previous.Resources[0].References : null;
        var entry = new AggregateEntry([.. hosts], [AssembleRouteConfiguration(routeName, hosts, references)]);
        _aggregateCache[key] = entry;
        return entry.Resources[0];
    }

    /// <summary>Whether every changed host sends to the same clusters as before (so the references are unchanged).</summary>
    private static bool SameClusters(HostPart[] before, HostPart[] now)
    {
        if (before.Length != now.Length)
        {
            return false;
        }

        for (var i = 0; i < now.Length; i++)
        {
            if (!ReferenceEquals(before[i], now[i]) && !before[i].Clusters.AsSpan().SequenceEqual(now[i].Clusters))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A route configuration of many virtual hosts, assembled from each host's cached serialization (protobuf writes
    /// name, then virtual hosts, so the bytes equal a fresh serialization); versioned by the hash of its hosts' hashes.
    /// </summary>
    private static XdsResource AssembleRouteConfiguration(string name, HostPart[] hosts, ResourceReferences? references)
    {
        var config = new RouteConfiguration { Name = name };
        config.VirtualHosts.AddRange(hosts.Select(h => h.Host));
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var size = CodedOutputStream.ComputeTagSize(RouteConfiguration.NameFieldNumber) + CodedOutputStream.ComputeStringSize(name);
        foreach (var host in hosts)
        {
            size += CodedOutputStream.ComputeTagSize(RouteConfiguration.VirtualHostsFieldNumber) + CodedOutputStream.ComputeBytesSize(host.Bytes);
        }

        // Every byte is written below: no need to zero a buffer that can be megabytes.
        var buffer = GC.AllocateUninitializedArray<byte>(size);
        var output = new CodedOutputStream(buffer);
        output.WriteTag(RouteConfiguration.NameFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString(name);
        var hashes = new byte[nameBytes.Length + (hosts.Length * 32)];
        nameBytes.CopyTo(hashes, 0);
        for (var i = 0; i < hosts.Length; i++)
        {
            output.WriteTag(RouteConfiguration.VirtualHostsFieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(hosts[i].Bytes);
            hosts[i].Hash.CopyTo(hashes, nameBytes.Length + (i * 32));
        }

        output.CheckNoSpaceLeft();
        var version = Convert.ToHexStringLower(SHA256.HashData(hashes), 0, 8);
        if (references is null)
        {
            var clusters = new HashSet<string>(StringComparer.Ordinal);
            foreach (var host in hosts)
            {
                clusters.UnionWith(host.Clusters);
            }

            string[] sorted = [.. clusters];
            Array.Sort(sorted, StringComparer.Ordinal);
            references = new ResourceReferences([], sorted, [], []);
        }

        return XdsResource.CreateAssembled(config, UnsafeByteOperations.UnsafeWrap(buffer), version, references);
    }

    private HostPart Host(int group, PortState port, RouteFlavor flavor, Func<PortState, IReadOnlyList<string>> domains)
    {
        if (port.Cache.Hosts[group] is { } entry && entry.Matches(port))
        {
            return entry.Part;
        }

        var host = new VirtualHost { Name = $"{port.Id.Fqdn(_options.ClusterDomain)}:{ClusterTranslator.Text(port.Id.Port)}" };
        host.Domains.AddRange(domains(port));
        host.Routes.AddRange(_routes.Routes(port.Id.ClusterName(_options.ClusterDomain), port.Protocol.IsHttp(), port.Routes, flavor));
        var part = HostPart.Of(host);
        port.Cache.Hosts[group] = new HostEntry(port, part);
        return part;
    }

    private IReadOnlyList<string> GatewayDomains(PortState port) => Domains(port, perPortListener: false);

    private IReadOnlyList<string> SidecarDomains(PortState port) => Domains(port, perPortListener: true);

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

    private sealed record PortState(KubeService Service, KubeServicePort Port, ServicePortId Id, PortProtocol Protocol, bool ShortNameUnique, bool Primary, PlannedRoute[] Routes, PortCache Cache, ManifestProblem[] Problems);

    /// <summary>A Service's TCP ports in port order, classified; computed once per Service object.</summary>
    private static PortSlot[] Layout(KubeService service)
    {
        var tcp = service.Spec.Ports.Where(p => p.Protocol == "TCP").OrderBy(p => p.Port).ToArray();
        var primary = tcp.Where(p => PortProtocols.Of(p).IsHttp()).Select(p => (int?)p.Port).FirstOrDefault();
        return [.. tcp.Select(p => new PortSlot(new ServicePortId(service.Metadata.Namespace, service.Metadata.Name, p.Port), p, PortProtocols.Of(p), p.Port == primary))];
    }

    private sealed record PortSlot(ServicePortId Id, KubeServicePort Port, PortProtocol Protocol, bool Primary);

    /// <summary>What was built for one Service port, per node group (indexed like <see cref="DataPlaneRoles.All"/>).</summary>
    private sealed class PortCache
    {
        public PortState? State { get; set; }

        public PlannedRoute[] Unsorted { get; set; } = [];

        public HostEntry?[] Hosts { get; } = new HostEntry?[3];

        public AggregateEntry?[] Listeners { get; } = new AggregateEntry?[3];
    }

    private sealed record ClusterEntry(KubeService Service, EndpointSlice[] Slices, XdsResource EnvoyCluster, XdsResource GrpcCluster, XdsResource Endpoints);

    private sealed record AggregateEntry(HostPart[] Hosts, XdsResource[] Resources);

    private sealed record SidecarPort(XdsResource Listener, HostPart[] Hosts, XdsResource Routes);

    /// <summary>What the last translation produced, kept so the next one can patch it.</summary>
    private sealed class State(RoutingInputs inputs, RoutePlanner.Plan[] plans, Dictionary<ServicePortId, List<PlannedRoute>> routesByPort, PortState[] ports, XdsResource[] envoyClusters, XdsResource[] grpcClusters)
    {
        public RoutingInputs Inputs { get; set; } = inputs;

        public RoutePlanner.Plan[] Plans { get; } = plans;

        public Dictionary<ServicePortId, List<PlannedRoute>> RoutesByPort { get; } = routesByPort;

        public PortState[] Ports { get; } = ports;

        public Dictionary<ServicePortId, int> PortIndex { get; } = new(ports.Length);

        /// <summary>Clusters and endpoints as gateways and sidecars get them.</summary>
        public XdsResource[] EnvoyClusters { get; } = envoyClusters;

        /// <summary>Clusters and endpoints as proxyless gRPC clients get them.</summary>
        public XdsResource[] GrpcClusters { get; } = grpcClusters;

        public HostPart[] GatewayHosts { get; set; } = [];

        public XdsResource GatewayRoutes { get; set; } = null!;

        public int[] SidecarPosition { get; } = Enumerable.Repeat(-1, ports.Length).ToArray();

        public SortedDictionary<int, SidecarPort> Sidecar { get; } = [];

        /// <summary>Per Service port: the gRPC API listeners and route configuration (empty for non-HTTP ports).</summary>
        public XdsResource[][] Grpc { get; } = new XdsResource[ports.Length][];
    }

    /// <summary>A virtual host with its serialization, hash and clusters, computed once.</summary>
    private sealed record HostPart(VirtualHost Host, ByteString Bytes, byte[] Hash, string[] Clusters)
    {
        public static HostPart Of(VirtualHost host)
        {
            var bytes = host.ToByteString();
            var clusters = host.Routes.Select(r => r.Route_).OfType<RouteAction>()
                .SelectMany(a => a.ClusterSpecifierCase == RouteAction.ClusterSpecifierOneofCase.WeightedClusters ? a.WeightedClusters.Clusters.Select(c => c.Name) : [a.Cluster])
                .Where(c => c.Length > 0).Distinct().ToArray();
            return new HostPart(host, bytes, SHA256.HashData(bytes.Span), clusters);
        }
    }

    private sealed record HostEntry(PortState State, HostPart Part)
    {
        public bool Matches(PortState port) =>
            ReferenceEquals(State.Service, port.Service) && State.ShortNameUnique == port.ShortNameUnique && State.Primary == port.Primary
            && State.Routes.AsSpan().SequenceEqual(port.Routes, ReferenceEqualityComparer.Instance);
    }
}
