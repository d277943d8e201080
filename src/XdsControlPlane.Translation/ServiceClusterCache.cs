using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>The clusters and endpoints of one translation, as Envoy gets them and as proxyless gRPC clients get them.</summary>
/// <param name="Envoy">For gateways and sidecars.</param>
/// <param name="Grpc">For proxyless gRPC clients (they differ only in outlier detection, see <see cref="ClusterTranslator"/>).</param>
internal sealed record ClusterResources(XdsResource[] Envoy, XdsResource[] Grpc);

/// <summary>
/// Builds the clusters and endpoints of every Service port and LocalWorkload, keeping each port's resources while its
/// Service and EndpointSlices are the same objects.
/// </summary>
internal sealed class ServiceClusterCache(TranslationOptions options, ClusterTranslator clusters)
{
    private Dictionary<ServicePortId, Entry> _entries = [];

    /// <summary>The clusters of <paramref name="ports"/> (endpoints from <paramref name="inputs"/>) and of <paramref name="localClusters"/>.</summary>
    public ClusterResources Build(RoutingInputs inputs, ServicePortTable ports, SortedDictionary<string, (LocalWorkload Workload, int Port)> localClusters)
    {
        var envoy = new List<XdsResource>((ports.All.Count * 2) + (localClusters.Count * 2));
        var grpc = new List<XdsResource>((ports.All.Count * 2) + (localClusters.Count * 2));
        var entries = new Dictionary<ServicePortId, Entry>(ports.All.Count);
        foreach (var port in ports.All)
        {
            var entry = EntryFor(inputs, port, _entries.GetValueOrDefault(port.Id));
            entries[port.Id] = entry;
            envoy.Add(entry.EnvoyCluster);
            envoy.Add(entry.Endpoints);
            grpc.Add(entry.GrpcCluster);
            grpc.Add(entry.Endpoints);
        }

        _entries = entries;
        foreach (var (name, (workload, port)) in localClusters)
        {
            var cluster = XdsResource.Create(clusters.LocalWorkloadCluster(name, workload, port));
            var endpoints = XdsResource.Create(ClusterTranslator.LocalWorkloadEndpoints(name, workload, port));
            envoy.Add(cluster);
            envoy.Add(endpoints);
            grpc.Add(cluster);
            grpc.Add(endpoints);
        }

        return new ClusterResources([.. envoy], [.. grpc]);
    }

    /// <summary>
    /// <paramref name="current"/> with the endpoints of <paramref name="services"/>' ports rebuilt from
    /// <paramref name="inputs"/>' EndpointSlices (the Services, and so the ports and clusters, are the same objects as
    /// when <paramref name="current"/> was built from <paramref name="ports"/>). Only a changed port's
    /// ClusterLoadAssignment is made again; returns <paramref name="current"/> itself when none changed.
    /// </summary>
    public ClusterResources RefreshEndpoints(RoutingInputs inputs, ServicePortTable ports, ClusterResources current, IReadOnlySet<(string Namespace, string Service)> services)
    {
        XdsResource[]? envoy = null;
        XdsResource[]? grpc = null;
        for (var i = 0; i < ports.All.Count; i++)
        {
            var port = ports.All[i];
            if (!services.Contains((port.Id.Namespace, port.Id.Service)))
            {
                continue;
            }

            var before = _entries[port.Id];
            var entry = EntryFor(inputs, port, before);
            if (ReferenceEquals(entry, before))
            {
                continue;
            }

            // Build lays out each port as [cluster, endpoints], in table order.
            _entries[port.Id] = entry;
            envoy ??= [.. current.Envoy];
            grpc ??= [.. current.Grpc];
            envoy[(2 * i) + 1] = entry.Endpoints;
            grpc[(2 * i) + 1] = entry.Endpoints;
        }

        return envoy is null ? current : new ClusterResources(envoy, grpc!);
    }

    /// <summary><paramref name="entry"/> while its Service and EndpointSlices are the same objects, else a new one.</summary>
    private Entry EntryFor(RoutingInputs inputs, ServicePortState port, Entry? entry)
    {
        var slices = inputs.SlicesOf(port.Id.Namespace, port.Id.Service);
        if (entry is not null && ReferenceEquals(entry.Service, port.Service) && ReferenceLists.Equal(entry.Slices, slices))
        {
            return entry;
        }

        var endpoints = XdsResource.Create(ClusterTranslator.Endpoints(port.Id.ClusterName(options.ClusterDomain), port.Port, slices));
        if (entry is not null && ReferenceEquals(entry.Service, port.Service))
        {
            return entry with { Slices = [.. slices], Endpoints = endpoints };
        }

        return new Entry(
            port.Service,
            [.. slices],
            XdsResource.Create(clusters.ServiceCluster(port.Id, port.Protocol, DataPlaneKind.Envoy)),
            XdsResource.Create(clusters.ServiceCluster(port.Id, port.Protocol, DataPlaneKind.ProxylessGrpc)),
            endpoints);
    }

    private sealed record Entry(KubeService Service, EndpointSlice[] Slices, XdsResource EnvoyCluster, XdsResource GrpcCluster, XdsResource Endpoints);
}
