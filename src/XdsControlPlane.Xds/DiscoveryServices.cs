using Envoy.Service.Cluster.V3;
using Envoy.Service.Discovery.V3;
using Envoy.Service.Endpoint.V3;
using Envoy.Service.Listener.V3;
using Envoy.Service.Route.V3;
using Envoy.Service.Secret.V3;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace XdsControlPlane.Xds;

/// <summary>Creates State-of-the-World and Delta streams with the shared cache, grouping, registry, clock and stream callbacks.</summary>
internal sealed class XdsStreamFactory(SnapshotCache cache, INodeGroupResolver groups, ClientRegistry registry, TimeProvider clock, XdsMetrics metrics, IOptions<XdsServerOptions> options, ILoggerFactory loggers, IHostApplicationLifetime lifetime, IEnumerable<IXdsStreamCallbacks> callbacks)
{
    private readonly XdsStreamContext _context = new(cache, groups, registry, clock, metrics, options.Value, loggers.CreateLogger("XdsControlPlane.Xds.Stream"))
    {
        Stopping = lifetime.ApplicationStopping,
        Callbacks = new XdsStreamCallbackList(callbacks, loggers.CreateLogger("XdsControlPlane.Xds.Stream")),
    };

    public Task RunAsync(string? fixedTypeUrl, IAsyncStreamReader<DiscoveryRequest> requests, IServerStreamWriter<DiscoveryResponse> responses, ServerCallContext context) =>
        new SotwStream(_context, fixedTypeUrl).RunAsync(requests, responses, context.CancellationToken);

    public Task RunDeltaAsync(string? fixedTypeUrl, IAsyncStreamReader<DeltaDiscoveryRequest> requests, IServerStreamWriter<DeltaDiscoveryResponse> responses, ServerCallContext context) =>
        new DeltaStream(_context, fixedTypeUrl).RunAsync(requests, responses, context.CancellationToken);
}

/// <summary>ADS: all types over one stream, State of the World or Delta.</summary>
internal sealed class AggregatedDiscoveryServiceImpl(XdsStreamFactory streams) : AggregatedDiscoveryService.AggregatedDiscoveryServiceBase
{
    public override Task StreamAggregatedResources(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(null, requestStream, responseStream, context);

    public override Task DeltaAggregatedResources(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream, IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunDeltaAsync(null, requestStream, responseStream, context);
}

/// <summary>LDS over its own stream.</summary>
internal sealed class ListenerDiscoveryServiceImpl(XdsStreamFactory streams) : ListenerDiscoveryService.ListenerDiscoveryServiceBase
{
    public override Task StreamListeners(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(TypeUrls.Listener, requestStream, responseStream, context);

    public override Task DeltaListeners(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream, IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunDeltaAsync(TypeUrls.Listener, requestStream, responseStream, context);
}

/// <summary>RDS over its own stream.</summary>
internal sealed class RouteDiscoveryServiceImpl(XdsStreamFactory streams) : RouteDiscoveryService.RouteDiscoveryServiceBase
{
    public override Task StreamRoutes(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(TypeUrls.RouteConfiguration, requestStream, responseStream, context);

    public override Task DeltaRoutes(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream, IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunDeltaAsync(TypeUrls.RouteConfiguration, requestStream, responseStream, context);
}

/// <summary>CDS over its own stream.</summary>
internal sealed class ClusterDiscoveryServiceImpl(XdsStreamFactory streams) : ClusterDiscoveryService.ClusterDiscoveryServiceBase
{
    public override Task StreamClusters(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(TypeUrls.Cluster, requestStream, responseStream, context);

    public override Task DeltaClusters(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream, IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunDeltaAsync(TypeUrls.Cluster, requestStream, responseStream, context);
}

/// <summary>EDS over its own stream.</summary>
internal sealed class EndpointDiscoveryServiceImpl(XdsStreamFactory streams) : EndpointDiscoveryService.EndpointDiscoveryServiceBase
{
    public override Task StreamEndpoints(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(TypeUrls.ClusterLoadAssignment, requestStream, responseStream, context);

    public override Task DeltaEndpoints(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream, IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunDeltaAsync(TypeUrls.ClusterLoadAssignment, requestStream, responseStream, context);
}

/// <summary>SDS over its own stream.</summary>
internal sealed class SecretDiscoveryServiceImpl(XdsStreamFactory streams) : SecretDiscoveryService.SecretDiscoveryServiceBase
{
    public override Task StreamSecrets(IAsyncStreamReader<DiscoveryRequest> requestStream, IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunAsync(TypeUrls.Secret, requestStream, responseStream, context);

    public override Task DeltaSecrets(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream, IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        streams.RunDeltaAsync(TypeUrls.Secret, requestStream, responseStream, context);
}
