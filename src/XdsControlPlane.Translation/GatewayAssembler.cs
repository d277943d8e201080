
namespace XdsControlPlane.Translation;

/// <summary>
/// The gateway's resources: one HTTP listener (and with <see cref="TranslationOptions.GatewayTls"/> an HTTPS one loading
/// the same routes) and one route configuration with a virtual host per Service port (keys
/// also read from the cookie and the query parameter, CONNECT to every port) followed by the plan's other hosts
/// (preview hosts), and Envoy's clusters. The listener depends only on the options and the HTTP filters, so it is
/// built once. With <see cref="TranslationOptions.ScopedRoutes"/> the routes are split into a route configuration per
/// Service and a routing scope per host name instead (<see cref="GatewayScopes"/>).
/// </summary>
internal sealed class GatewayAssembler : NodeGroupAssembler
{
    private static readonly RouteFlavor Flavor = new(CookieAndQuery: true, OriginalHeaderMatcherFields: false, Connect: true);

    private readonly XdsResource _listener;
    private readonly XdsResource? _httpsListener;
    private readonly VirtualHostCache _hosts;
    private readonly PlannedHostCache _plannedHosts;
    private readonly RouteConfigurationAssembler _routeConfigurations = new();
    private readonly GatewayScopes? _scopes;
    private VirtualHostPart[] _other = [];
    private XdsResource? _routes;

    public GatewayAssembler(ResourceBuilders builders)
    {
        var domain = builders.Options.ClusterDomain;
        _listener = XdsResource.Create(builders.Listeners.Gateway());
        _httpsListener = builders.Options.GatewayTls ? XdsResource.Create(builders.Listeners.GatewayHttps()) : null;
        _hosts = new VirtualHostCache(builders, Role, Flavor, port => VirtualHostDomains.Gateway(port, domain));
        _plannedHosts = new PlannedHostCache(builders.Filters, Role, requireTls: builders.Options.GatewayTls);
        _scopes = builders.Options.ScopedRoutes ? new GatewayScopes(domain) : null;
    }

    public override string Role => DataPlaneRoles.Gateway;

    public override void Assemble(RoutingPlan plan)
    {
        _other = _plannedHosts.Get(plan.Hosts);
        if (_scopes is null)
        {
            AssembleRoutes(plan.Ports);
        }
        else
        {
            _scopes.Assemble(plan.Ports, _other, _hosts.Get);
        }

        _hosts.Retain(plan.Ports);
    }

    /// <summary>
    /// Every port is in the one route configuration: unchanged ports' hosts come from the cache. With scopes, only the
    /// changed ports' Services' configurations are rebuilt.
    /// </summary>
    public override void Reassemble(RoutingPlan plan, IReadOnlyCollection<ServicePortState> changed)
    {
        if (_scopes is null)
        {
            AssembleRoutes(plan.Ports);
        }
        else
        {
            _scopes.Reassemble(plan.Ports, changed, _hosts.Get);
        }
    }

    public override IReadOnlyList<XdsResource> Resources(RoutingPlan plan, ClusterResources clusters) => _scopes is null
        ? new SegmentedList<XdsResource>([.. Listeners, _routes ?? throw new InvalidOperationException("not assembled yet")], clusters.Envoy)
        : new SegmentedList<XdsResource>(Listeners, _scopes.Resources(), clusters.Envoy);

    /// <summary>The plain listener, and the HTTPS one when <see cref="TranslationOptions.GatewayTls"/> is on; built once.</summary>
    private XdsResource[] Listeners => _httpsListener is null ? [_listener] : [_listener, _httpsListener];

    private void AssembleRoutes(ServicePortTable ports)
    {
        var hosts = new VirtualHostPart[ports.All.Count + _other.Length];
        for (var i = 0; i < ports.All.Count; i++)
        {
            hosts[i] = _hosts.Get(ports.All[i]);
        }

        _other.CopyTo(hosts, ports.All.Count);
        _routes = _routeConfigurations.Assemble(ListenerTranslator.GatewayListener, hosts);
    }
}
