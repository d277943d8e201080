using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// A State-of-the-World ADS client that behaves like Envoy when asked to (node on the first request only, ACK
/// with version and nonce) and misbehaves when a test wants it to. Every wait has a timeout.
/// </summary>
internal sealed class AdsTestClient : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> _call;
    private readonly Channel<DiscoveryResponse> _responses = Channel.CreateUnbounded<DiscoveryResponse>();
    private readonly Task _pump;
    private readonly Node _node;
    private bool _sentNode;
    private int _barriers;

    private AdsTestClient(AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> call, Node node)
    {
        _call = call;
        _node = node;
        _pump = PumpAsync();
    }

    public static AdsTestClient Open(GrpcChannel channel, Node? node = null) =>
        new(new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(), node ?? XdsTestServer.Node());

    public static AdsTestClient Open(AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> call, Node? node = null) =>
        new(call, node ?? XdsTestServer.Node());

    /// <summary>Sends a request; the first one carries the node, like Envoy.</summary>
    public async Task SendAsync(DiscoveryRequest request)
    {
        if (!_sentNode)
        {
            request.Node ??= _node;
            _sentNode = true;
        }

        using var timeout = new CancellationTokenSource(Timeout);
        await _call.RequestStream.WriteAsync(request, timeout.Token);
    }

    public Task SendAsync(string typeUrl, params string[] names) =>
        SendAsync(new DiscoveryRequest { TypeUrl = typeUrl, ResourceNames = { names } });

    public async Task<DiscoveryResponse> ReceiveAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            return await _responses.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no response within {Timeout.TotalSeconds} s");
        }
        catch (ChannelClosedException e) when (e.InnerException is RpcException rpc)
        {
            throw rpc;
        }
    }

    public async Task<DiscoveryResponse> RequestAsync(string typeUrl, params string[] names)
    {
        await SendAsync(typeUrl, names);
        return await ReceiveAsync();
    }

    /// <summary>ACKs <paramref name="response"/> like Envoy: its version and nonce, the names still wanted.</summary>
    public Task AckAsync(DiscoveryResponse response, params string[] names) => SendAsync(new DiscoveryRequest
    {
        TypeUrl = response.TypeUrl,
        VersionInfo = response.VersionInfo,
        ResponseNonce = response.Nonce,
        ResourceNames = { names },
    });

    /// <summary>NACKs <paramref name="response"/>: the previous good version, its nonce, and an error detail.</summary>
    public Task NackAsync(DiscoveryResponse response, string previousVersion, string message, params string[] names) => SendAsync(new DiscoveryRequest
    {
        TypeUrl = response.TypeUrl,
        VersionInfo = previousVersion,
        ResponseNonce = response.Nonce,
        ResourceNames = { names },
        ErrorDetail = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = message },
    });

    /// <summary>
    /// Proves the server sent nothing since the last response read: a first request for a new, unknown type is
    /// always answered, and a stream answers in order, so the next response must be that one.
    /// </summary>
    public async Task AssertNothingSentAsync()
    {
        var barrier = $"type.googleapis.com/xdscp.test.Barrier{++_barriers}";
        var next = await RequestAsync(barrier);
        Assert.That(next.TypeUrl, Is.EqualTo(barrier), $"unexpected response: {next.TypeUrl} version {next.VersionInfo} with {next.Resources.Count} resources");
    }

    /// <summary>The names of the resources in a response.</summary>
    public static string[] Names(DiscoveryResponse response) => response.Resources.Select(NameOf).ToArray();

    public static string NameOf(Any resource) => XdsResource.Create(resource.Unpack(Types)).Name;

    private static readonly Google.Protobuf.Reflection.TypeRegistry Types = Google.Protobuf.Reflection.TypeRegistry.FromMessages(
        global::Envoy.Config.Listener.V3.Listener.Descriptor,
        global::Envoy.Config.Route.V3.RouteConfiguration.Descriptor,
        global::Envoy.Config.Cluster.V3.Cluster.Descriptor,
        global::Envoy.Config.Endpoint.V3.ClusterLoadAssignment.Descriptor,
        global::Envoy.Extensions.TransportSockets.Tls.V3.Secret.Descriptor);

    /// <summary>The status the stream ended with.</summary>
    public async Task<RpcException> ExpectFailureAsync()
    {
        try
        {
            await ReceiveAsync();
        }
        catch (RpcException e)
        {
            return e;
        }

        throw new AssertionException("the stream did not fail");
    }

    public async ValueTask DisposeAsync()
    {
        _call.Dispose();
        await _pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var response in _call.ResponseStream.ReadAllAsync())
            {
                await _responses.Writer.WriteAsync(response);
            }

            _responses.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _responses.Writer.TryComplete(e);
        }
    }
}
