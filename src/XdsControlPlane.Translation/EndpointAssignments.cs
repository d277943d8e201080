using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>
/// How one translation turns a Service's EndpointSlices into ClusterLoadAssignments: the cluster name and port of each
/// of its ports. Immutable, so it can be used while the next translation runs: an endpoint change is published from it
/// (<see cref="For"/>) without waiting for a translation of everything else, and gives the same resources a full
/// translation of the same slices gives.
/// </summary>
public sealed class EndpointAssignments
{
    private readonly Dictionary<(string Namespace, string Service), (string Cluster, KubeServicePort Port)[]> _ports;

    internal EndpointAssignments(ServicePortTable ports, string clusterDomain)
    {
        var byService = new Dictionary<(string, string), List<(string, KubeServicePort)>>();
        foreach (var port in ports.All)
        {
            var key = (port.Id.Namespace, port.Id.Service);
            if (!byService.TryGetValue(key, out var list))
            {
                byService[key] = list = [];
            }

            list.Add((port.Id.ClusterName(clusterDomain), port.Port));
        }

        _ports = byService.ToDictionary(entry => entry.Key, entry => entry.Value.ToArray());
    }

    /// <summary>No Service at all (before the first translation).</summary>
    public static EndpointAssignments None { get; } = new(new ServicePortTable([]), "");

    /// <summary>
    /// The ClusterLoadAssignment of each port of Service <paramref name="ns"/>/<paramref name="service"/> with
    /// <paramref name="slices"/> (all of that Service's slices, ordered by name as <see cref="RoutingInputs.SlicesOf"/>
    /// orders them); none when the translation had no such Service.
    /// </summary>
    public IReadOnlyList<XdsResource> For(string ns, string service, IReadOnlyList<EndpointSlice> slices)
    {
        ArgumentNullException.ThrowIfNull(slices);
        if (!_ports.TryGetValue((ns, service), out var ports))
        {
            return [];
        }

        var resources = new XdsResource[ports.Length];
        for (var i = 0; i < ports.Length; i++)
        {
            resources[i] = XdsResource.Create(ClusterTranslator.Endpoints(ports[i].Cluster, ports[i].Port, slices));
        }

        return resources;
    }
}
