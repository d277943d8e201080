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
    private static readonly RouteFlavor GrpcFlavor = new(CookieAndQuery: false, LegacyHeaderMatchers: false, Connect: false);
    private static readonly RouteFlavor GrpcLegacyFlavor = new(CookieAndQuery: false, LegacyHeaderMatchers: true, Connect: false);

    private static readonly HostPart AllowAny = HostPart.Of(new VirtualHost
    {
        Name = "allow_any",
        Domains = { "*" },
        Routes =
        {
            new Route
            {
                Name = "passthrough",
                Match = new Envoy.Config.Route.V3.RouteMatch { Prefix = "/" },
                Route_ = new RouteAction { Cluster = ClusterTranslator.PassthroughCluster, Timeout = EnvoyBuilding.Duration(TimeSpan.Zero) },
            },
        },
    });

    private const int GatewayIndex = 0;
    private const int SidecarIndex = 1;
    private const int GrpcIndex = 2;
    private const int GrpcLegacyIndex = 3;

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
                var unsorted = routesByPort.GetValueOrDefault(slot.Id);
                var cache = _portCaches.GetValueOrDefault(slot.Id) ?? new PortCache();
                nextCaches[slot.Id] = cache;
                var state = cache.State;
                if (state is null || !ReferenceEquals(state.Service, service) || state.ShortNameUnique != shortNameUnique || !SameRoutes(cache.Unsorted, unsorted))
                {
                    PlannedRoute[] routes = unsorted is null ? [] : [.. unsorted];
                    Array.Sort(routes, PlannedRoute.Compare);
                    state = new PortState(service, slot.Port, slot.Id, slot.Protocol, shortNameUnique, slot.Primary, routes, cache);
                    cache.State = state;
                    cache.Unsorted = unsorted is null ? [] : [.. unsorted];
                }

                ports.Add(state);
            }
        }

        _portCaches = nextCaches;
        _layouts = nextLayouts;

        var clusterResources = BuildClusters(inputs, ports, localClusters);
        var groups = new Dictionary<string, IReadOnlyList<XdsResource>>(StringComparer.Ordinal)
        {
            [DataPlaneRoles.Gateway] = [_gatewayListener, Aggregate(GatewayIndex, ListenerTranslator.GatewayListener, ports, GatewayFlavor, p => true), .. clusterResources],
            [DataPlaneRoles.Sidecar] = [.. Sidecar(ports), _passthroughCluster, .. clusterResources],
            [DataPlaneRoles.Grpc] = [.. Grpc(GrpcIndex, ports, GrpcFlavor), .. clusterResources],
            [DataPlaneRoles.GrpcLegacy] = [.. Grpc(GrpcLegacyIndex, ports, GrpcLegacyFlavor), .. clusterResources],
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
            yield return Aggregate(SidecarIndex, ListenerTranslator.SidecarRouteName(group.Key), group.ToList(), SidecarFlavor, p => true, allowAny: true);
        }
    }

    private IEnumerable<XdsResource> Grpc(int group, List<PortState> ports, RouteFlavor flavor)
    {
        foreach (var port in ports.Where(p => p.Protocol.IsHttp()))
        {
            var host = Host(group, port, flavor, _ => ["*"]);
            var entry = port.Cache.Listeners[group];
            if (entry is null || !ReferenceEquals(entry.Hosts[0], host))
            {
                var fqdn = port.Id.Fqdn(_options.ClusterDomain);
                var portText = ClusterTranslator.Text(port.Id.Port);
                var routeName = $"{fqdn}:{portText}";
                var config = new RouteConfiguration { Name = routeName, VirtualHosts = { host.Host } };
                var shortName = $"{port.Id.Service}.{port.Id.Namespace}";
                string[] names = port.Primary ? [$"{shortName}:{portText}", routeName, shortName, fqdn] : [$"{shortName}:{portText}", routeName];
                XdsResource[] listeners = [.. names.Select(name => XdsResource.Create(ListenerTranslator.GrpcApiListener(name, routeName)))];
                entry = new AggregateEntry([host], XdsResource.Create(config), listeners);
            }

            port.Cache.Listeners[group] = entry;
            foreach (var listener in entry.Extra)
            {
                yield return listener;
            }

            yield return entry.Resource;
        }
    }

    private XdsResource Aggregate(int group, string routeName, List<PortState> ports, RouteFlavor flavor, Func<PortState, bool> include, bool allowAny = false)
    {
        var hosts = new List<HostPart>(ports.Count + 1);
        foreach (var port in ports.Where(include))
        {
            if (port.Protocol.IsHttp() || flavor.Connect)
            {
                hosts.Add(Host(group, port, flavor, p => Domains(p, perPortListener: allowAny)));
            }
        }

        if (allowAny)
        {
            hosts.Add(AllowAny);
        }

        var key = $"{DataPlaneRoles.All[group]}|{routeName}";
        if (_aggregateCache.TryGetValue(key, out var entry) && entry.Hosts.AsSpan().SequenceEqual(hosts.ToArray(), ReferenceEqualityComparer.Instance))
        {
            return entry.Resource;
        }

        entry = new AggregateEntry([.. hosts], AssembleRouteConfiguration(routeName, hosts), []);
        _aggregateCache[key] = entry;
        return entry.Resource;
    }

    /// <summary>
    /// A route configuration of many virtual hosts, assembled from each host's cached serialization (protobuf writes
    /// name, then virtual hosts, so the bytes equal a fresh serialization); versioned by the hash of its hosts' hashes.
    /// </summary>
    private static XdsResource AssembleRouteConfiguration(string name, List<HostPart> hosts)
    {
        var config = new RouteConfiguration { Name = name };
        var size = CodedOutputStream.ComputeTagSize(RouteConfiguration.NameFieldNumber) + CodedOutputStream.ComputeStringSize(name);
        foreach (var host in hosts)
        {
            size += CodedOutputStream.ComputeTagSize(RouteConfiguration.VirtualHostsFieldNumber) + CodedOutputStream.ComputeBytesSize(host.Bytes);
        }

        var buffer = new byte[size];
        var output = new CodedOutputStream(buffer);
        output.WriteTag(RouteConfiguration.NameFieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString(name);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes(name));
        var clusters = new HashSet<string>(StringComparer.Ordinal);
        foreach (var host in hosts)
        {
            config.VirtualHosts.Add(host.Host);
            output.WriteTag(RouteConfiguration.VirtualHostsFieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(host.Bytes);
            hash.AppendData(host.Hash);
            clusters.UnionWith(host.Clusters);
        }

        output.CheckNoSpaceLeft();
        var version = Convert.ToHexStringLower(hash.GetHashAndReset(), 0, 8);
        string[] sortedClusters = [.. clusters];
        Array.Sort(sortedClusters, StringComparer.Ordinal);
        return XdsResource.CreateAssembled(config, UnsafeByteOperations.UnsafeWrap(buffer), version, new ResourceReferences([], sortedClusters, []));
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

    private sealed record PortState(KubeService Service, KubeServicePort Port, ServicePortId Id, PortProtocol Protocol, bool ShortNameUnique, bool Primary, PlannedRoute[] Routes, PortCache Cache);

    /// <summary>A Service's TCP ports in port order, classified; computed once per Service object.</summary>
    private static PortSlot[] Layout(KubeService service)
    {
        var tcp = service.Spec.Ports.Where(p => p.Protocol == "TCP").OrderBy(p => p.Port).ToArray();
        var primary = tcp.Where(p => PortProtocols.Of(p).IsHttp()).Select(p => (int?)p.Port).FirstOrDefault();
        return [.. tcp.Select(p => new PortSlot(new ServicePortId(service.Metadata.Namespace, service.Metadata.Name, p.Port), p, PortProtocols.Of(p), p.Port == primary))];
    }

    private static bool SameRoutes(PlannedRoute[] previous, List<PlannedRoute>? current)
    {
        if (previous.Length != (current?.Count ?? 0))
        {
            return false;
        }

        for (var i = 0; i < previous.Length; i++)
        {
            if (!ReferenceEquals(previous[i], current![i]))
            {
                return false;
            }
        }

        return true;
    }

    private sealed record PortSlot(ServicePortId Id, KubeServicePort Port, PortProtocol Protocol, bool Primary);

    /// <summary>What was built for one Service port, per node group (indexed like <see cref="DataPlaneRoles.All"/>).</summary>
    private sealed class PortCache
    {
        public PortState? State { get; set; }

        public PlannedRoute[] Unsorted { get; set; } = [];

        public HostEntry?[] Hosts { get; } = new HostEntry?[4];

        public AggregateEntry?[] Listeners { get; } = new AggregateEntry?[4];
    }

    private sealed record ClusterEntry(KubeService Service, EndpointSlice[] Slices, XdsResource Cluster, XdsResource Endpoints);

    private sealed record AggregateEntry(HostPart[] Hosts, XdsResource Resource, XdsResource[] Extra);

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
