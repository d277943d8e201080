using Envoy.Service.Cluster.V3;
using Envoy.Service.Discovery.V3;
using Envoy.Service.Endpoint.V3;
using Envoy.Service.Listener.V3;
using Envoy.Service.Route.V3;
using Envoy.Service.Secret.V3;
using Grpc.Core;

namespace XdsControlPlane.Xds;

/// <summary>Creates <see cref="SotwStream"/>s with the shared cache, grouping, registry and clock.</summary>
internal sealed class SotwStreamFactory(SnapshotCache cache, INodeGroupResolver groups, ClientRegistry registry, TimeProvider clock, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger("XdsControlPlane.Xds.Stream");

    public Task RunAsync(string? fixedTypeUrl, IAsyncStreamReader<DiscoveryRequest> requests, IServerStreamWriter<DiscoveryResponse> responses, ServerCallContext context) =>
        new SotwStream(cache, groups, registry, clock, _logger, fixedTypeUrl).RunAsync(requests, responses, context.CancellationToken);
}

/// <summary>ADS: all types over one stream (State of the World).</summary>
internal sealed class AggregatedDiscoveryServiceImpl(SotwStreamFactory streams) : AggregatedDiscoveryService.AggregatedDiscoveryServiceBase
{
    public override Task StreamAggregatedResources(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(null, requestStream, responseStream, context);
}

/// <summary>LDS over its own stream.</summary>
internal sealed class ListenerDiscoveryServiceImpl(SotwStreamFactory streams) : ListenerDiscoveryService.ListenerDiscoveryServiceBase
{
    public override Task StreamListeners(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(TypeUrls.Listener, requestStream, responseStream, context);
}

/// <summary>RDS over its own stream.</summary>
internal sealed class RouteDiscoveryServiceImpl(SotwStreamFactory streams) : RouteDiscoveryService.RouteDiscoveryServiceBase
{
    public override Task StreamRoutes(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(TypeUrls.RouteConfiguration, requestStream, responseStream, context);
}

/// <summary>CDS over its own stream.</summary>
internal sealed class ClusterDiscoveryServiceImpl(SotwStreamFactory streams) : ClusterDiscoveryService.ClusterDiscoveryServiceBase
{
    public override Task StreamClusters(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(TypeUrls.Cluster, requestStream, responseStream, context);
}

/// <summary>EDS over its own stream.</summary>
internal sealed class EndpointDiscoveryServiceImpl(SotwStreamFactory streams) : EndpointDiscoveryService.EndpointDiscoveryServiceBase
{
    public override Task StreamEndpoints(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(TypeUrls.ClusterLoadAssignment, requestStream, responseStream, context);
}

/// <summary>SDS over its own stream.</summary>
internal sealed class SecretDiscoveryServiceImpl(SotwStreamFactory streams) : SecretDiscoveryService.SecretDiscoveryServiceBase
{
    public override Task StreamSecrets(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(TypeUrls.Secret, requestStream, responseStream, context);
}
