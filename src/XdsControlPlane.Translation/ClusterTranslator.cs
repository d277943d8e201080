using System.Globalization;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using XdsControlPlane.Model;
using static XdsControlPlane.Translation.EnvoyBuilding;
using UpstreamHttpOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace XdsControlPlane.Translation;

/// <summary>The two kinds of data plane whose clusters differ: Envoy (gateways, sidecars) and proxyless gRPC clients.</summary>
internal enum DataPlaneKind
{
    /// <summary>Envoy gateways and sidecars.</summary>
    Envoy,

    /// <summary>Proxyless gRPC clients (gRFC A27 and later).</summary>
    ProxylessGrpc,
}

/// <summary>
/// Builds clusters (with defaults from <see cref="TranslationOptions"/>) and their endpoints from EndpointSlices.
/// Outlier detection is translated per <see cref="DataPlaneKind"/>: gRPC clients implement only success-rate and
/// failure-percentage ejection (gRFC A50) and read an unset <c>enforcing_success_rate</c> as "on", so every field either
/// kind would otherwise default is set explicitly.
/// </summary>
internal sealed class ClusterTranslator(TranslationOptions options)
{
    /// <summary>The name of the sidecar's original-destination cluster for traffic the control plane does not know.</summary>
    public const string PassthroughCluster = "PassthroughCluster";

    private const string HttpProtocolOptionsName = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    /// <summary>An EDS cluster for one Service port, as <paramref name="kind"/> gets it.</summary>
    public Cluster ServiceCluster(ServicePortId id, PortProtocol protocol, DataPlaneKind kind)
    {
        var name = id.ClusterName(options.ClusterDomain);
        var cluster = WithDefaults(new Cluster
        {
            Name = name,
            Type = Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = Ads(), ServiceName = name },
        });
        cluster.OutlierDetection = OutlierDetectionFor(kind);
        if (protocol == PortProtocol.Http2)
        {
            cluster.TypedExtensionProtocolOptions[HttpProtocolOptionsName] = Typed(new UpstreamHttpOptions
            {
                ExplicitHttpConfig = new UpstreamHttpOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() },
            });
        }

        return cluster;
    }

    /// <summary>
    /// The cluster of a LocalWorkload's port: an EDS cluster whose one endpoint (<see cref="LocalWorkloadEndpoints"/>)
    /// is the broker port, on the replica holding the agent's stream, that leads to the laptop.
    /// </summary>
    public Cluster LocalWorkloadCluster(string name, LocalWorkload workload, int port)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var protocol = (workload.Spec.Ports ?? []).FirstOrDefault(p => p.Port == port)?.Protocol;
        var cluster = WithDefaults(new Cluster
        {
            Name = name,
            Type = Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = Ads(), ServiceName = name },
        });
        cluster.OutlierDetection = null;
        if (protocol == LocalPort.Grpc)
        {
            cluster.TypedExtensionProtocolOptions[HttpProtocolOptionsName] = Typed(new UpstreamHttpOptions
            {
                ExplicitHttpConfig = new UpstreamHttpOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() },
            });
        }

        return cluster;
    }

    /// <summary>The endpoint of a LocalWorkload's port: the broker address and port its status names (none while it has no tunnel).</summary>
    public static ClusterLoadAssignment LocalWorkloadEndpoints(string name, LocalWorkload workload, int port)
    {
        ArgumentNullException.ThrowIfNull(workload);
        var assignment = new ClusterLoadAssignment { ClusterName = name };
        if (workload.TunnelEndpoint(port) is { } endpoint)
        {
            assignment.Endpoints.Add(Locality(zone: "", [SocketAddress(endpoint.Address, endpoint.Port)]));
        }

        return assignment;
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
        var assignment = new ClusterLoadAssignment { ClusterName = clusterName };
        foreach (var zone in ServiceEndpoints.Ready(port, slices))
        {
            assignment.Endpoints.Add(Locality(zone.Zone, [.. zone.Endpoints.Select(e => SocketAddress(e.Address, e.Port))]));
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
        return cluster;
    }

    /// <summary>
    /// Outlier detection that means the same to both kinds: failure-percentage ejection (both implement it) with
    /// every threshold explicit, success-rate ejection explicitly off, and for Envoy also consecutive-5xx ejection,
    /// which gRPC clients do not implement (so it is left out of theirs rather than sent and ignored).
    /// </summary>
    private OutlierDetection OutlierDetectionFor(DataPlaneKind kind)
    {
        var detection = new OutlierDetection
        {
            Interval = Duration(options.OutlierInterval),
            BaseEjectionTime = Duration(options.OutlierBaseEjectionTime),
            MaxEjectionTime = Duration(options.OutlierMaxEjectionTime),
            MaxEjectionPercent = options.OutlierMaxEjectionPercent,

            // Success rate: off. Its figures are Envoy's and gRPC's defaults, set so no client reads an unset field.
            EnforcingSuccessRate = 0,
            SuccessRateMinimumHosts = 5,
            SuccessRateRequestVolume = 100,
            SuccessRateStdevFactor = 1900,

            EnforcingFailurePercentage = 100,
            FailurePercentageThreshold = options.OutlierFailurePercentageThreshold,
            FailurePercentageMinimumHosts = options.OutlierFailurePercentageMinimumHosts,
            FailurePercentageRequestVolume = options.OutlierFailurePercentageRequestVolume,
        };
        if (kind == DataPlaneKind.Envoy)
        {
            detection.Consecutive5Xx = options.OutlierConsecutive5xx;
            detection.EnforcingConsecutive5Xx = 100;
            detection.ConsecutiveGatewayFailure = options.OutlierConsecutive5xx;
            detection.EnforcingConsecutiveGatewayFailure = 0;
        }

        return detection;
    }

    /// <summary>Formats a port for names.</summary>
    public static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
