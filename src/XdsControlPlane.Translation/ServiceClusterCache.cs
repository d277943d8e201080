using XdsControlPlane.Model;
using XdsControlPlane.Xds;

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
        var envoy = new List<XdsResource>((ports.All.Count * 2) + localClusters.Count);
        var grpc = new List<XdsResource>((ports.All.Count * 2) + localClusters.Count);
        var entries = new Dictionary<ServicePortId, Entry>(ports.All.Count);
        foreach (var port in ports.All)
        {
            var slices = inputs.SlicesOf(port.Id.Namespace, port.Id.Service);
            if (!_entries.TryGetValue(port.Id, out var entry) || !ReferenceEquals(entry.Service, port.Service) || !ReferenceLists.Equal(entry.Slices, slices))
            {
                var name = port.Id.ClusterName(options.ClusterDomain);
                entry = new Entry(
                    port.Service,
                    [.. slices],
                    XdsResource.Create(clusters.ServiceCluster(port.Id, port.Protocol, DataPlaneKind.Envoy)),
                    XdsResource.Create(clusters.ServiceCluster(port.Id, port.Protocol, DataPlaneKind.ProxylessGrpc)),
                    XdsResource.Create(ClusterTranslator.Endpoints(name, port.Port, slices)));
            }

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
            envoy.Add(cluster);
            grpc.Add(cluster);
        }

        return new ClusterResources([.. envoy], [.. grpc]);
    }

    private sealed record Entry(KubeService Service, EndpointSlice[] Slices, XdsResource EnvoyCluster, XdsResource GrpcCluster, XdsResource Endpoints);
}
