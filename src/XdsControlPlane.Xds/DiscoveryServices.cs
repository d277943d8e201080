using Envoy.Service.Discovery.V3;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Cds = Envoy.Service.Cluster.V3.ClusterDiscoveryService;
using Eds = Envoy.Service.Endpoint.V3.EndpointDiscoveryService;
using Lds = Envoy.Service.Listener.V3.ListenerDiscoveryService;
using Rds = Envoy.Service.Route.V3.RouteDiscoveryService;
using Sds = Envoy.Service.Secret.V3.SecretDiscoveryService;

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

/// <summary>
/// The per-type services (LDS, RDS, CDS, EDS, SDS), each a stream of its one type, State of the World or Delta. One
/// class serves them all: <see cref="PerTypeDiscoveryMethods"/> binds each service's methods, as its generated
/// <c>BindService</c> names them, to <see cref="Streams"/> with the service's type. Serving another type per type is one
/// line of <see cref="Services"/>; over ADS every type of <see cref="XdsResourceTypes"/> is served without one.
/// </summary>
internal sealed class PerTypeDiscoveryServices(XdsStreamFactory streams)
{
    /// <summary>Each per-type service's type, and its generated binding (which hands its methods to a binder).</summary>
    public static IReadOnlyList<(string TypeUrl, Action<ServiceBinderBase> Bind)> Services { get; } =
    [
        (TypeUrls.Listener, binder => Lds.BindService(binder, null)),
        (TypeUrls.RouteConfiguration, binder => Rds.BindService(binder, null)),
        (TypeUrls.Cluster, binder => Cds.BindService(binder, null)),
        (TypeUrls.ClusterLoadAssignment, binder => Eds.BindService(binder, null)),
        (TypeUrls.Secret, binder => Sds.BindService(binder, null)),
    ];

    /// <summary>The streams every method runs.</summary>
    public XdsStreamFactory Streams { get; } = streams;
}

/// <summary>
/// Binds the methods of <see cref="PerTypeDiscoveryServices.Services"/>: <c>Stream…</c> (SotW) and <c>Delta…</c> to a
/// stream of the service's type, <c>Fetch…</c> (REST-style, not served) to UNIMPLEMENTED as the generated base does.
/// </summary>
internal sealed class PerTypeDiscoveryMethods : IServiceMethodProvider<PerTypeDiscoveryServices>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<PerTypeDiscoveryServices> context)
    {
        foreach (var (typeUrl, bind) in PerTypeDiscoveryServices.Services)
        {
            var methods = new MethodCatalog();
            bind(methods);
            foreach (var method in methods.Methods)
            {
                switch (method)
                {
                    case Method<DiscoveryRequest, DiscoveryResponse> { Type: MethodType.DuplexStreaming } sotw:
                        context.AddDuplexStreamingMethod(sotw, [], (services, requests, responses, call) => services.Streams.RunAsync(typeUrl, requests, responses, call));
                        break;
                    case Method<DeltaDiscoveryRequest, DeltaDiscoveryResponse> { Type: MethodType.DuplexStreaming } delta:
                        context.AddDuplexStreamingMethod(delta, [], (services, requests, responses, call) => services.Streams.RunDeltaAsync(typeUrl, requests, responses, call));
                        break;
                    case Method<DiscoveryRequest, DiscoveryResponse> { Type: MethodType.Unary } fetch:
                        context.AddUnaryMethod(fetch, [], (_, _, _) => throw new RpcException(new Status(StatusCode.Unimplemented, "")));
                        break;
                    default:
                        throw new InvalidOperationException($"{method.FullName} is not a method of an xDS per-type service");
                }
            }
        }
    }

    /// <summary>Collects the methods a generated <c>BindService</c> hands over (without a service instance, with no handlers).</summary>
    private sealed class MethodCatalog : ServiceBinderBase
    {
        public List<IMethod> Methods { get; } = [];

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) => Methods.Add(method);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) => Methods.Add(method);
    }
}
