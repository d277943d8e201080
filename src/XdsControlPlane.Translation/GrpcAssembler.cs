using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>
/// The proxyless gRPC clients' resources: per HTTP Service port, API listeners named as clients ask and one route
/// configuration, and the gRPC clients' clusters. Every client generation gets the same resources: its route flavor
/// uses only the HeaderMatcher fields that every generation parses.
/// </summary>
internal sealed class GrpcAssembler : NodeGroupAssembler
{
    // Every proxyless gRPC client parses the original HeaderMatcher fields; C-core releases up to at least 1.51 (Debian
    // bookworm's python3-grpcio) NACK string_match. So gRPC clients get the original fields, whatever their version.
    private static readonly RouteFlavor Flavor = new(CookieAndQuery: false, OriginalHeaderMatcherFields: true, Connect: false);

    private readonly string _clusterDomain;
    private readonly ListenerTranslator _listeners;
    private readonly VirtualHostCache _hosts;
    private Dictionary<ServicePortId, PortResources> _ports = [];

    public GrpcAssembler(ResourceBuilders builders)
    {
        _clusterDomain = builders.Options.ClusterDomain;
        _listeners = builders.Listeners;
        _hosts = new VirtualHostCache(builders, Role, Flavor, static _ => ["*"]);
    }

    public override string Role => DataPlaneRoles.Grpc;

    public override void Assemble(RoutingPlan plan)
    {
        var assembled = new Dictionary<ServicePortId, PortResources>(_ports.Count);
        foreach (var port in plan.Ports.All)
        {
            if (port.Protocol.IsHttp())
            {
                assembled[port.Id] = AssemblePort(port, _ports.GetValueOrDefault(port.Id));
            }
        }

        _ports = assembled;
        _hosts.Retain(plan.Ports);
    }

    public override void Reassemble(RoutingPlan plan, IReadOnlyCollection<ServicePortState> changed)
    {
        foreach (var port in changed)
        {
            if (port.Protocol.IsHttp())
            {
                _ports[port.Id] = AssemblePort(port, _ports.GetValueOrDefault(port.Id));
            }
        }
    }

    public override IReadOnlyList<XdsResource> Resources(RoutingPlan plan, ClusterResources clusters)
    {
        // One segment per HTTP port, in table order, then the clusters.
        var segments = new IReadOnlyList<XdsResource>[_ports.Count + 1];
        var next = 0;
        foreach (var port in plan.Ports.All)
        {
            if (_ports.TryGetValue(port.Id, out var resources))
            {
                segments[next++] = resources.Resources;
            }
        }

        segments[next] = clusters.Grpc;
        return new SegmentedList<XdsResource>(segments);
    }

    private PortResources AssemblePort(ServicePortState port, PortResources? previous)
    {
        var host = _hosts.Get(port);
        if (previous is not null && ReferenceEquals(previous.Host, host))
        {
            return previous;
        }

        var fqdn = port.Id.Fqdn(_clusterDomain);
        var portText = ClusterTranslator.Text(port.Id.Port);
        var routeName = $"{fqdn}:{portText}";
        var shortName = $"{port.Id.Service}.{port.Id.Namespace}";

        // Clients dial cart.shop:9090 or the full name; without a port, the Service's first HTTP port.
        string[] names = port.Primary ? [$"{shortName}:{portText}", routeName, shortName, fqdn] : [$"{shortName}:{portText}", routeName];
        var config = XdsResource.CreateRouteConfiguration(routeName, [host.Bytes], version: null, new ResourceReferences([], host.Clusters, [], []));

        // The listeners depend only on their names and the route configuration's: a changed host keeps them.
        XdsResource[] listeners = previous is not null && previous.Names.AsSpan().SequenceEqual(names)
            ? previous.Resources[..^1]
            : [.. names.Select(name => XdsResource.Create(_listeners.GrpcApiListener(name, routeName)))];
        return new PortResources(host, names, [.. listeners, config]);
    }

    /// <summary>One Service port's API listeners (by name) and route configuration, and the virtual host they were made from.</summary>
    private sealed record PortResources(VirtualHostPart Host, string[] Names, XdsResource[] Resources);
}
