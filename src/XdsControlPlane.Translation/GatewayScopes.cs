using Envoy.Config.Route.V3;

namespace XdsControlPlane.Translation;

/// <summary>
/// The gateway's routes as scoped RDS (<see cref="TranslationOptions.ScopedRoutes"/>): one route configuration per
/// Service (its ports' virtual hosts, in port order) and per other planned host, and one routing scope
/// (<c>ScopedRouteConfiguration</c>) per host name those virtual hosts answer — the domain without its port, which is
/// what the listener's scope key builder takes from <c>:authority</c> — keyed by that name and loading that route
/// configuration. A scope's key cannot tell ports apart, so a Service's ports share one configuration (the virtual hosts'
/// domains still pick the port). A change to a Service port rebuilds that Service's configuration only; the scopes change
/// only when host names come or go, which takes a full translation.
/// </summary>
/// <param name="clusterDomain">The cluster's DNS domain (route configurations are named by the Service's FQDN).</param>
internal sealed class GatewayScopes(string clusterDomain)
{
    private readonly RouteConfigurationAssembler _routeConfigurations = new();
    private Dictionary<string, XdsResource> _scopes = new(StringComparer.Ordinal);
    private Dictionary<(string Namespace, string Service), ServiceRoutes> _services = [];
    private ServiceRoutes[] _serviceOrder = [];
    private XdsResource[] _others = [];
    private XdsResource[] _sortedScopes = [];

    /// <summary>The route configuration name of a Service at the gateway: <c>gateway-http/&lt;service FQDN&gt;</c>.</summary>
    public static string RouteName(ServicePortId port, string clusterDomain) => $"{ListenerTranslator.GatewayListener}/{port.Fqdn(clusterDomain)}";

    /// <summary>
    /// The scope key (and scope name) of a virtual host's domain: the host without <c>:port</c>; none for a wildcard or
    /// an IP literal in brackets (Envoy splits <c>:authority</c> at every <c>:</c>, so an IPv6 host has no usable key).
    /// </summary>
    public static string? ScopeKeyOf(string domain)
    {
        if (domain.Length == 0 || domain.Contains('*', StringComparison.Ordinal) || domain[0] == '[')
        {
            return null;
        }

        var colon = domain.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? domain : colon == 0 ? null : domain[..colon];
    }

    /// <summary>Builds every configuration and scope from the Service ports and the other hosts (<paramref name="hostOf"/> gives a port's cached virtual host).</summary>
    public void Assemble(ServicePortTable ports, VirtualHostPart[] others, Func<ServicePortState, VirtualHostPart> hostOf)
    {
        // The table is in Service then port order: a Service's ports are neighbours.
        var services = new Dictionary<(string Namespace, string Service), ServiceRoutes>();
        var order = new List<ServiceRoutes>();
        var routed = new List<(VirtualHostPart[] Hosts, XdsResource Routes)>();
        for (var start = 0; start < ports.All.Count;)
        {
            var first = ports.All[start].Id;
            var end = start + 1;
            while (end < ports.All.Count && ports.All[end].Id.Service == first.Service && ports.All[end].Id.Namespace == first.Namespace)
            {
                end++;
            }

            var members = ports.All.Skip(start).Take(end - start).ToArray();
            var hosts = members.Select(hostOf).ToArray();
            var service = new ServiceRoutes(RouteName(first, clusterDomain), [.. members.Select(p => p.Id)]);
            service.Routes = _routeConfigurations.Assemble(service.Name, hosts);
            services.Add((first.Namespace, first.Service), service);
            order.Add(service);
            routed.Add((hosts, service.Routes));
            start = end;
        }

        var otherRoutes = new XdsResource[others.Length];
        for (var i = 0; i < others.Length; i++)
        {
            otherRoutes[i] = _routeConfigurations.Assemble($"{ListenerTranslator.GatewayListener}/hosts/{others[i].Name}", [others[i]]);
            routed.Add(([others[i]], otherRoutes[i]));
        }

        _services = services;
        _serviceOrder = [.. order];
        _others = otherRoutes;
        _routeConfigurations.Retain(routed.Select(r => r.Routes.Name));
        AssembleScopes(routed);
    }

    /// <summary>Rebuilds the configurations of the Services <paramref name="changed"/> ports belong to (the ports and host names are those of the last <see cref="Assemble"/>).</summary>
    public void Reassemble(ServicePortTable ports, IReadOnlyCollection<ServicePortState> changed, Func<ServicePortState, VirtualHostPart> hostOf)
    {
        foreach (var key in changed.Select(p => (p.Id.Namespace, p.Id.Service)).Distinct())
        {
            var service = _services[key];
            var hosts = new VirtualHostPart[service.Ports.Length];
            for (var i = 0; i < hosts.Length; i++)
            {
                ports.TryGet(service.Ports[i], out var state);
                hosts[i] = hostOf(state);
            }

            service.Routes = _routeConfigurations.Assemble(service.Name, hosts);
        }
    }

    /// <summary>The scopes (by name), then the Services' route configurations (in Service order), then the other hosts'.</summary>
    public IReadOnlyList<XdsResource> Resources()
    {
        var resources = new List<XdsResource>(_sortedScopes.Length + _serviceOrder.Length + _others.Length);
        resources.AddRange(_sortedScopes);
        foreach (var service in _serviceOrder)
        {
            resources.Add(service.Routes);
        }

        resources.AddRange(_others);
        return resources;
    }

    /// <summary>
    /// One scope per host name, for the first configuration whose virtual hosts answer it (two virtual hosts of one route
    /// configuration cannot share a domain either, so the names are unique in practice). A scope whose key and
    /// configuration are unchanged keeps its resource.
    /// </summary>
    private void AssembleScopes(List<(VirtualHostPart[] Hosts, XdsResource Routes)> routed)
    {
        var scopes = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
        foreach (var (hosts, routes) in routed)
        {
            foreach (var domain in hosts.SelectMany(h => h.Domains))
            {
                if (ScopeKeyOf(domain) is not { } key || scopes.ContainsKey(key))
                {
                    continue;
                }

                scopes[key] = _scopes.TryGetValue(key, out var kept) && ((ScopedRouteConfiguration)kept.Message).RouteConfigurationName == routes.Name
                    ? kept
                    : XdsResource.Create(Scope(key, routes.Name));
            }
        }

        _scopes = scopes;
        _sortedScopes = [.. scopes.Values.OrderBy(s => s.Name, StringComparer.Ordinal)];
    }

    private static ScopedRouteConfiguration Scope(string key, string routeConfigurationName) => new()
    {
        Name = key,
        RouteConfigurationName = routeConfigurationName,
        Key = new ScopedRouteConfiguration.Types.Key { Fragments = { new ScopedRouteConfiguration.Types.Key.Types.Fragment { StringKey = key } } },
    };

    /// <summary>One Service's route configuration and the ports it holds (in table order).</summary>
    private sealed class ServiceRoutes(string name, ServicePortId[] ports)
    {
        public string Name { get; } = name;

        public ServicePortId[] Ports { get; } = ports;

        public XdsResource Routes { get; set; } = null!;
    }
}
