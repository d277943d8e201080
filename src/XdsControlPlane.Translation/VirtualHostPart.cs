using System.Security.Cryptography;
using Envoy.Config.Route.V3;
using Google.Protobuf;
using XdsControlPlane.Model;
using XdsControlPlane.Translation.HttpFilters;

namespace XdsControlPlane.Translation;

/// <summary>
/// A virtual host as route configurations hold it: its serialization, hash and clusters, computed once and shared by
/// every route configuration that holds it. The message itself is not kept (its routes, matchers and their empty maps
/// and lists cost several times its bytes); validation and debug output parse the bytes when they need it.
/// </summary>
/// <param name="Name">The virtual host's name.</param>
/// <param name="Domains">The host names it answers.</param>
/// <param name="Bytes">Its serialization.</param>
/// <param name="Hash">SHA-256 of <paramref name="Bytes"/>.</param>
/// <param name="Clusters">The clusters its routes and mirror policies send to, each once, in ordinal order.</param>
internal sealed record VirtualHostPart(string Name, string[] Domains, ByteString Bytes, byte[] Hash, IReadOnlyList<string> Clusters)
{
    /// <summary>Serializes <paramref name="host"/>, which is not kept.</summary>
    public static VirtualHostPart Of(VirtualHost host)
    {
        var bytes = host.ToByteString();
        var clusters = ResourceReferences.Of(new RouteConfiguration { VirtualHosts = { host } }).Clusters;
        return new VirtualHostPart(host.Name, [.. host.Domains], bytes, SHA256.HashData(bytes.Span), clusters);
    }
}

/// <summary>
/// One node group's virtual host per Service port, the HTTP filters' config added, kept while the port's routing is
/// unchanged (<see cref="ServicePortState.SameRouting"/>).
/// </summary>
/// <param name="builders">Names (the cluster domain), the routes' builder and the HTTP filters.</param>
/// <param name="role">The node group.</param>
/// <param name="flavor">The routing-key carriers and matcher fields of the node group.</param>
/// <param name="domains">The host names the node group's virtual host for a port answers.</param>
internal sealed class VirtualHostCache(ResourceBuilders builders, string role, RouteFlavor flavor, Func<ServicePortState, IReadOnlyList<string>> domains)
{
    private readonly string _clusterDomain = builders.Options.ClusterDomain;

    private Dictionary<ServicePortId, (ServicePortState State, VirtualHostPart Part)> _hosts = [];

    /// <summary>The virtual host of <paramref name="port"/>: cached, or built now.</summary>
    public VirtualHostPart Get(ServicePortState port)
    {
        if (_hosts.TryGetValue(port.Id, out var entry) && entry.State.SameRouting(port))
        {
            return entry.Part;
        }

        var host = new VirtualHost { Name = $"{port.Id.Fqdn(_clusterDomain)}:{ClusterTranslator.Text(port.Id.Port)}" };
        host.Domains.AddRange(domains(port));
        host.Routes.AddRange(builders.Routes.Routes(port.Id.ClusterName(_clusterDomain), port.Protocol.IsHttp(), port.Routes, flavor));
        builders.Filters.Configure(new HttpFilterScope(role, host, port, null));
        var part = VirtualHostPart.Of(host);
        _hosts[port.Id] = (port, part);
        return part;
    }

    /// <summary>Forgets the hosts of ports that are no longer in <paramref name="ports"/>.</summary>
    public void Retain(ServicePortTable ports)
    {
        if (_hosts.Keys.Any(id => !ports.Contains(id)))
        {
            _hosts = _hosts.Where(h => ports.Contains(h.Key)).ToDictionary();
        }
    }
}
