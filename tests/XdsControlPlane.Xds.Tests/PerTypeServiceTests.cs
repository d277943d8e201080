using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// Every per-type service (LDS, RDS, CDS, EDS, SDS), called by its method names on the wire: State of the World and
/// Delta serve the service's one type, and the REST-style Fetch is UNIMPLEMENTED, as the generated base answers.
/// </summary>
public sealed class PerTypeServiceTests : ServerPerTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static IEnumerable<TestCaseData> Services() =>
    [
        new(Envoy.Service.Listener.V3.ListenerDiscoveryService.Descriptor, TypeUrls.Listener, new[] { "http" }),
        new(Envoy.Service.Route.V3.RouteDiscoveryService.Descriptor, TypeUrls.RouteConfiguration, new[] { "routes" }),
        new(Envoy.Service.Cluster.V3.ClusterDiscoveryService.Descriptor, TypeUrls.Cluster, new[] { "cart" }),
        new(Envoy.Service.Endpoint.V3.EndpointDiscoveryService.Descriptor, TypeUrls.ClusterLoadAssignment, new[] { "cart" }),
        new(Envoy.Service.Secret.V3.SecretDiscoveryService.Descriptor, TypeUrls.Secret, Array.Empty<string>()),
    ];

    [TestCaseSource(nameof(Services))]
    public async Task PerTypeService_SotwDeltaAndFetch_ServeItsTypeOrAreUnimplemented(ServiceDescriptor service, string typeUrl, string[] names)
    {
        Server.Publish(TestResources.Snapshot("cart"));
        var invoker = Server.Channel.CreateCallInvoker();
        using var timeout = new CancellationTokenSource(Timeout);
        var options = new CallOptions(cancellationToken: timeout.Token);

        using var sotw = invoker.AsyncDuplexStreamingCall(Method<DiscoveryRequest, DiscoveryResponse>(service, "Stream", MethodType.DuplexStreaming), null, options);
        await sotw.RequestStream.WriteAsync(new DiscoveryRequest { Node = XdsTestServer.Node(), ResourceNames = { names } }, timeout.Token);
        Assert.That(await sotw.ResponseStream.MoveNext(timeout.Token), Is.True);
        var sotwResponse = sotw.ResponseStream.Current;

        using var delta = invoker.AsyncDuplexStreamingCall(Method<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(service, "Delta", MethodType.DuplexStreaming), null, options);
        await delta.RequestStream.WriteAsync(new DeltaDiscoveryRequest { Node = XdsTestServer.Node(), ResourceNamesSubscribe = { names } }, timeout.Token);
        Assert.That(await delta.ResponseStream.MoveNext(timeout.Token), Is.True);
        var deltaResponse = delta.ResponseStream.Current;

        var fetch = Assert.ThrowsAsync<RpcException>(async () =>
            await invoker.AsyncUnaryCall(Method<DiscoveryRequest, DiscoveryResponse>(service, "Fetch", MethodType.Unary), null, options, new DiscoveryRequest { Node = XdsTestServer.Node() }));

        Assert.Multiple(() =>
        {
            Assert.That((sotwResponse.TypeUrl, AdsTestClient.Names(sotwResponse)), Is.EqualTo((typeUrl, names)));
            Assert.That((deltaResponse.TypeUrl, DeltaTestClient.Names(deltaResponse)), Is.EqualTo((typeUrl, names)));
            Assert.That((fetch!.StatusCode, fetch.Status.Detail), Is.EqualTo((StatusCode.Unimplemented, "")));
        });
    }

    /// <summary>The method of <paramref name="service"/> whose name starts with <paramref name="prefix"/> (Stream…, Delta…, Fetch…).</summary>
    private static Method<TRequest, TResponse> Method<TRequest, TResponse>(ServiceDescriptor service, string prefix, MethodType type)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var method = service.Methods.Single(m => m.Name.StartsWith(prefix, StringComparison.Ordinal));
        return new Method<TRequest, TResponse>(type, service.FullName, method.Name, Marshaller<TRequest>(), Marshaller<TResponse>());
    }

    private static Marshaller<T> Marshaller<T>()
        where T : class, IMessage<T>, new() =>
        Marshallers.Create(message => message.ToByteArray(), bytes => new MessageParser<T>(() => new T()).ParseFrom(bytes));
}
