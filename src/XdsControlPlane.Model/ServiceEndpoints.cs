namespace XdsControlPlane.Model;

/// <summary>One ready endpoint of a Service port: the first address of an EndpointSlice endpoint and the slice's target port.</summary>
/// <param name="Address">The IPv4 or IPv6 address.</param>
/// <param name="Port">The port the pod listens on.</param>
public readonly record struct ServiceEndpoint(string Address, int Port);

/// <summary>The ready endpoints of one zone ("" when the slices name none), ordered.</summary>
/// <param name="Zone">The zone.</param>
/// <param name="Endpoints">Its ready endpoints, ordered by address and port, each once.</param>
public sealed record ZoneEndpoints(string Zone, IReadOnlyList<ServiceEndpoint> Endpoints);

/// <summary>
/// Which pods serve a Service port, read from its EndpointSlices as kube-proxy reads them: slices of address type IPv4 or
/// IPv6 whose port of the same name and protocol has a number, endpoints that are ready (a missing condition counts as
/// ready) and have an address. The one place this rule is written: translation builds EDS from it, the tunnel broker
/// picks an outbound target from it.
/// </summary>
public static class ServiceEndpoints
{
    /// <summary>The ready endpoints of <paramref name="port"/> in <paramref name="slices"/>, by zone in ordinal order.</summary>
    public static IReadOnlyList<ZoneEndpoints> Ready(KubeServicePort port, IReadOnlyList<EndpointSlice> slices)
    {
        ArgumentNullException.ThrowIfNull(port);
        ArgumentNullException.ThrowIfNull(slices);
        var byZone = new SortedDictionary<string, SortedSet<ServiceEndpoint>>(StringComparer.Ordinal);
        foreach (var slice in slices)
        {
            if (slice.AddressType is not ("IPv4" or "IPv6")
                || (slice.Ports ?? []).FirstOrDefault(p => (p.Name ?? "") == (port.Name ?? "") && p.Protocol == port.Protocol) is not { Port: { } targetPort })
            {
                continue;
            }

            foreach (var endpoint in (slice.Endpoints ?? []).Where(e => e.IsReady && e.Addresses is { Count: > 0 }))
            {
                var zone = endpoint.Zone ?? "";
                if (!byZone.TryGetValue(zone, out var set))
                {
                    byZone[zone] = set = new SortedSet<ServiceEndpoint>(EndpointOrder.Instance);
                }

                set.Add(new ServiceEndpoint(endpoint.Addresses[0], targetPort));
            }
        }

        return [.. byZone.Select(z => new ZoneEndpoints(z.Key, [.. z.Value]))];
    }

    /// <summary>Ordinal by address, then by port (the order EDS lists them in).</summary>
    private sealed class EndpointOrder : IComparer<ServiceEndpoint>
    {
        public static readonly EndpointOrder Instance = new();

        public int Compare(ServiceEndpoint x, ServiceEndpoint y)
        {
            var address = string.CompareOrdinal(x.Address, y.Address);
            return address != 0 ? address : x.Port.CompareTo(y.Port);
        }
    }
}
