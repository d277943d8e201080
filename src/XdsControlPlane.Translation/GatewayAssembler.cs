
namespace XdsControlPlane.Translation;

/// <summary>
/// The gateway's resources: one HTTP listener and one route configuration with a virtual host per Service port (keys
/// also read from the cookie and the query parameter, CONNECT to every port), and Envoy's clusters.
/// </summary>
internal sealed class GatewayAssembler : NodeGroupAssembler
{
    private static readonly RouteFlavor Flavor = new(CookieAndQuery: true, OriginalHeaderMatcherFields: false, Connect: true);

    private readonly XdsResource _listener;
    private readonly VirtualHostCache _hosts;
    private readonly RouteConfigurationAssembler _routeConfigurations = new();
    private XdsResource? _routes;

    public GatewayAssembler(ResourceBuilders builders)
    {
        var domain = builders.Options.ClusterDomain;
        _listener = XdsResource.Create(builders.Listeners.Gateway());
        _hosts = new VirtualHostCache(builders.Options, builders.Routes, Flavor, port => VirtualHostDomains.Gateway(port, domain));
    }

    public override string Role => DataPlaneRoles.Gateway;

    public override void Assemble(ServicePortTable ports)
    {
        AssembleRoutes(ports);
        _hosts.Retain(ports);
    }

    /// <summary>Every port is in the one route configuration: unchanged ports' hosts come from the cache.</summary>
    public override void Reassemble(ServicePortTable ports, IReadOnlyCollection<ServicePortState> changed) => AssembleRoutes(ports);

    public override IReadOnlyList<XdsResource> Resources(ServicePortTable ports, ClusterResources clusters) =>
        new SegmentedList<XdsResource>([_listener, _routes ?? throw new InvalidOperationException("not assembled yet")], clusters.Envoy);

    private void AssembleRoutes(ServicePortTable ports)
    {
        var hosts = new VirtualHostPart[ports.All.Count];
        for (var i = 0; i < hosts.Length; i++)
        {
            hosts[i] = _hosts.Get(ports.All[i]);
        }

        _routes = _routeConfigurations.Assemble(ListenerTranslator.GatewayListener, hosts);
    }
}
