using System.Globalization;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using XdsControlPlane.Model;
using static XdsControlPlane.Translation.EnvoyBuilding;
using UpstreamHttpOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace XdsControlPlane.Translation;

/// <summary>Builds clusters (with defaults from <see cref="TranslationOptions"/>) and their endpoints from EndpointSlices.</summary>
internal sealed class ClusterTranslator(TranslationOptions options)
{
    /// <summary>The name of the sidecar's original-destination cluster for traffic the control plane does not know.</summary>
    public const string PassthroughCluster = "PassthroughCluster";

    private const string HttpProtocolOptionsName = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    /// <summary>An EDS cluster for one Service port.</summary>
    public Cluster ServiceCluster(ServicePortId id, PortProtocol protocol)
    {
        var name = id.ClusterName(options.ClusterDomain);
        var cluster = WithDefaults(new Cluster
        {
            Name = name,
            Type = Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = Ads(), ServiceName = name },
        });
        if (protocol == PortProtocol.Http2)
        {
            cluster.TypedExtensionProtocolOptions[HttpProtocolOptionsName] = Typed(new UpstreamHttpOptions
            {
                ExplicitHttpConfig = new UpstreamHttpOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() },
            });
        }

        return cluster;
    }

    /// <summary>A cluster that reaches a LocalWorkload's port through the tunnel broker (found by DNS).</summary>
    public Cluster LocalWorkloadCluster(string name, LocalWorkload workload, int port)
    {
        var protocol = (workload.Spec.Ports ?? []).FirstOrDefault(p => p.Port == port)?.Protocol;
        var cluster = WithDefaults(new Cluster
        {
            Name = name,
            Type = Cluster.Types.DiscoveryType.LogicalDns,
            DnsLookupFamily = Cluster.Types.DnsLookupFamily.V4Preferred,
            LoadAssignment = new ClusterLoadAssignment
            {
                ClusterName = name,
                Endpoints = { Locality(zone: "", [SocketAddress(options.TunnelBrokerHost, options.TunnelBrokerPort)]) },
            },
        });
        cluster.OutlierDetection = null;
        if (protocol == "grpc")
        {
            cluster.TypedExtensionProtocolOptions[HttpProtocolOptionsName] = Typed(new UpstreamHttpOptions
            {
                ExplicitHttpConfig = new UpstreamHttpOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() },
            });
        }

        return cluster;
    }

    /// <summary>The sidecar's cluster for traffic to destinations it has no cluster for: to the original destination.</summary>
    public Cluster Passthrough() => new()
    {
        Name = PassthroughCluster,
        Type = Cluster.Types.DiscoveryType.OriginalDst,
        LbPolicy = Cluster.Types.LbPolicy.ClusterProvided,
        ConnectTimeout = Duration(options.ConnectTimeout),
    };

    /// <summary>
    /// The endpoints of one Service port: ready endpoints of the Service's EndpointSlices whose port has the Service
    /// port's name, grouped by zone (each locality weighted by its endpoint count; gRPC clients need the weight).
    /// </summary>
    public static ClusterLoadAssignment Endpoints(string clusterName, KubeServicePort port, IReadOnlyList<EndpointSlice> slices)
    {
        var byZone = new SortedDictionary<string, SortedSet<(string Address, int Port)>>(StringComparer.Ordinal);
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
                    byZone[zone] = set = new SortedSet<(string, int)>();
                }

                set.Add((endpoint.Addresses[0], targetPort));
            }
        }

        var assignment = new ClusterLoadAssignment { ClusterName = clusterName };
        foreach (var (zone, endpoints) in byZone)
        {
            assignment.Endpoints.Add(Locality(zone, endpoints.Select(e => SocketAddress(e.Address, e.Port)).ToArray()));
        }

        return assignment;
    }

    private static LocalityLbEndpoints Locality(string zone, Address[] addresses)
    {
        var locality = new LocalityLbEndpoints
        {
            Locality = new Locality { Zone = zone },
            LoadBalancingWeight = (uint)Math.Max(1, addresses.Length),
        };
        foreach (var address in addresses)
        {
            locality.LbEndpoints.Add(new LbEndpoint { Endpoint = new Endpoint { Address = address }, LoadBalancingWeight = 1 });
        }

        return locality;
    }

    private Cluster WithDefaults(Cluster cluster)
    {
        cluster.ConnectTimeout = Duration(options.ConnectTimeout);
        cluster.LbPolicy = Cluster.Types.LbPolicy.RoundRobin;
        cluster.CircuitBreakers = new CircuitBreakers
        {
            Thresholds =
            {
                new CircuitBreakers.Types.Thresholds
                {
                    Priority = RoutingPriority.Default,
                    MaxConnections = options.MaxConnections,
                    MaxPendingRequests = options.MaxPendingRequests,
                    MaxRequests = options.MaxRequests,
                    MaxRetries = options.MaxRetries,
                },
            },
        };
        cluster.OutlierDetection = new OutlierDetection
        {
            Consecutive5Xx = options.OutlierConsecutive5xx,
            Interval = Duration(options.OutlierInterval),
            BaseEjectionTime = Duration(options.OutlierBaseEjectionTime),
            MaxEjectionPercent = options.OutlierMaxEjectionPercent,
        };
        return cluster;
    }

    /// <summary>Formats a port for names.</summary>
    public static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
