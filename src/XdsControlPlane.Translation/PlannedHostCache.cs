using Envoy.Config.Route.V3;
using XdsControlPlane.Translation.HttpFilters;
using static XdsControlPlane.Translation.EnvoyBuilding;

namespace XdsControlPlane.Translation;

/// <summary>
/// One node group's virtual hosts of <see cref="PlannedVirtualHost"/>s (preview hosts), the HTTP filters' config
/// added. A host whose bytes are unchanged keeps its part, so the route configuration holding it is reused.
/// </summary>
/// <param name="filters">The HTTP filters that configure each host and route.</param>
/// <param name="role">The node group.</param>
/// <param name="requireTls">
/// Plain HTTP to these hosts is redirected to HTTPS (<c>require_tls: ALL</c>): the gateway serves TLS
/// (<see cref="TranslationOptions.GatewayTls"/>) and preview cookies are <c>Secure</c>. The Service ports' hosts stay plain.
/// </param>
internal sealed class PlannedHostCache(HttpFilterRegistry filters, string role, bool requireTls = false)
{
    private Dictionary<string, VirtualHostPart> _parts = new(StringComparer.Ordinal);

    /// <summary>The parts of <paramref name="hosts"/>, in order; forgets hosts no longer planned.</summary>
    public VirtualHostPart[] Get(IReadOnlyList<PlannedVirtualHost> hosts)
    {
        if (hosts.Count == 0 && _parts.Count == 0)
        {
            return [];
        }

        var parts = new Dictionary<string, VirtualHostPart>(hosts.Count, StringComparer.Ordinal);
        var result = new VirtualHostPart[hosts.Count];
        for (var i = 0; i < hosts.Count; i++)
        {
            var part = VirtualHostPart.Of(Build(hosts[i]));
            if (_parts.TryGetValue(hosts[i].Name, out var previous) && previous.Hash.AsSpan().SequenceEqual(part.Hash))
            {
                part = previous;
            }

            parts[hosts[i].Name] = result[i] = part;
        }

        _parts = parts;
        return result;
    }

    private VirtualHost Build(PlannedVirtualHost planned)
    {
        var host = new VirtualHost
        {
            Name = planned.Name,
            Domains = { planned.Domains },
            RequireTls = requireTls ? VirtualHost.Types.TlsRequirementType.All : VirtualHost.Types.TlsRequirementType.None,
        };
        foreach (var route in planned.Routes)
        {
            var built = new Route
            {
                Name = route.Name,
                Match = new RouteMatch { Prefix = route.PathPrefix },
                Route_ = new RouteAction { Cluster = route.Cluster, Timeout = Duration(TimeSpan.Zero) },
            };
            foreach (var (name, value) in route.RequestHeadersToAdd.OrderBy(h => h.Key, StringComparer.Ordinal))
            {
                built.RequestHeadersToAdd.Add(RouteTranslator.Header(name.ToLowerInvariant(), value));
            }

            host.Routes.Add(built);
        }

        filters.Configure(new HttpFilterScope(role, host, null, planned));
        return host;
    }
}
