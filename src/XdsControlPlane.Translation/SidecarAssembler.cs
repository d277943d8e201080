using Envoy.Config.Route.V3;
using XdsControlPlane.Model;
using XdsControlPlane.Translation.HttpFilters;
using RouteMatch = Envoy.Config.Route.V3.RouteMatch;

namespace XdsControlPlane.Translation;

/// <summary>
/// The sidecars' resources: the capture listener, per HTTP port number a listener and a route configuration with a
/// virtual host per Service that has the port (plus <c>allow_any</c> passing unknown hosts through), the passthrough
/// cluster, and Envoy's clusters.
/// </summary>
internal sealed class SidecarAssembler : NodeGroupAssembler
{
    private static readonly RouteFlavor Flavor = new(CookieAndQuery: false, OriginalHeaderMatcherFields: false, Connect: false);

    private readonly VirtualHostPart _allowAny;
    private readonly ListenerTranslator _listeners;
    private readonly XdsResource _virtualOutbound;
    private readonly XdsResource _passthroughCluster;
    private readonly Dictionary<int, XdsResource> _portListeners = [];
    private readonly VirtualHostCache _hosts;
    private readonly RouteConfigurationAssembler _routeConfigurations = new();
    private SortedDictionary<int, OutboundPort> _ports = [];

    public SidecarAssembler(ResourceBuilders builders)
    {
        var domain = builders.Options.ClusterDomain;
        _listeners = builders.Listeners;
        _virtualOutbound = XdsResource.Create(builders.Listeners.SidecarVirtualOutbound());
        _passthroughCluster = XdsResource.Create(builders.Clusters.Passthrough());
        _hosts = new VirtualHostCache(builders, Role, Flavor, port => VirtualHostDomains.Sidecar(port, domain));
        _allowAny = AllowAny(builders.Filters);
    }

    public override string Role => DataPlaneRoles.Sidecar;

    public override void Assemble(RoutingPlan plan)
    {
        var ports = plan.Ports;
        var assembled = new SortedDictionary<int, OutboundPort>();
        foreach (var number in ports.All.Where(p => p.Protocol.IsHttp()).GroupBy(p => p.Id.Port))
        {
            assembled[number.Key] = AssemblePort(number.Key, [.. number]);
        }

        _ports = assembled;
        _hosts.Retain(ports);
    }

    /// <summary>Reassembles the port numbers of the changed HTTP ports only.</summary>
    public override void Reassemble(RoutingPlan plan, IReadOnlyCollection<ServicePortState> changed)
    {
        foreach (var number in changed.Where(p => p.Protocol.IsHttp()).Select(p => p.Id.Port).Distinct())
        {
            var members = _ports[number].Services;
            var current = new ServicePortState[members.Length];
            for (var i = 0; i < members.Length; i++)
            {
                plan.Ports.TryGet(members[i].Id, out current[i]);
            }

            _ports[number] = AssemblePort(number, current);
        }
    }

    public override IReadOnlyList<XdsResource> Resources(RoutingPlan plan, ClusterResources clusters)
    {
        var resources = new List<XdsResource>((_ports.Count * 2) + 2) { _virtualOutbound };
        foreach (var port in _ports.Values)
        {
            resources.Add(port.Listener);
            resources.Add(port.Routes);
        }

        resources.Add(_passthroughCluster);
        return new SegmentedList<XdsResource>(resources, clusters.Envoy);
    }

    private OutboundPort AssemblePort(int number, ServicePortState[] members)
    {
        if (!_portListeners.TryGetValue(number, out var listener))
        {
            _portListeners[number] = listener = XdsResource.Create(_listeners.SidecarPort(number));
        }

        var hosts = new VirtualHostPart[members.Length + 1];
        for (var i = 0; i < members.Length; i++)
        {
            hosts[i] = _hosts.Get(members[i]);
        }

        hosts[^1] = _allowAny;
        return new OutboundPort(listener, members, _routeConfigurations.Assemble(ListenerTranslator.SidecarRouteName(number), hosts));
    }

    /// <summary>The last host of every port: passes requests for hosts no Service port answers through unchanged.</summary>
    private static VirtualHostPart AllowAny(HttpFilterRegistry filters)
    {
        var host = new VirtualHost
        {
            Name = "allow_any",
            Domains = { "*" },
            Routes =
            {
                new Route
                {
                    Name = "passthrough",
                    Match = new RouteMatch { Prefix = "/" },
                    Route_ = new RouteAction { Cluster = ClusterTranslator.PassthroughCluster, Timeout = EnvoyBuilding.Duration(TimeSpan.Zero) },
                },
            },
        };
        filters.Configure(new HttpFilterScope(DataPlaneRoles.Sidecar, host, null, null));
        return VirtualHostPart.Of(host);
    }

    /// <summary>One outbound port number: its listener, the Service ports it routes (in table order) and their route configuration.</summary>
    private sealed record OutboundPort(XdsResource Listener, ServicePortState[] Services, XdsResource Routes);
}
