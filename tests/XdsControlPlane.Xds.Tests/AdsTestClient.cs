using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Google.Protobuf.Reflection;
using Grpc.Net.Client;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// A State-of-the-World ADS client that behaves like Envoy when asked to (node on the first request only, ACK
/// with version and nonce) and misbehaves when a test wants it to. Every wait has a timeout. The Envoy behaviour is
/// modelled on envoyproxy/envoy source/extensions/config_subscription/grpc/grpc_mux_impl.cc (GrpcMuxImpl) and
/// docs/root/api-docs/xds_protocol.rst; each method names the part it follows.
/// </summary>
internal sealed class AdsTestClient : TestStream<DiscoveryRequest, DiscoveryResponse>
{
    private static readonly TypeRegistry Types = TypeRegistry.FromMessages(XdsResourceTypes.All.Select(t => t.Descriptor));

    private readonly Node? _node;
    private bool _sentNode;
    private int _barriers;

    private AdsTestClient(AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> call, Node? node)
        : base(call) => _node = node;

    public static AdsTestClient Open(GrpcChannel channel, Node? node = null) =>
        new(new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(), node ?? XdsTestServer.Node());

    public static AdsTestClient Open(AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> call, Node? node = null) =>
        new(call, node ?? XdsTestServer.Node());

    /// <summary>A client that never sends a node (a misbehaving one).</summary>
    public static AdsTestClient OpenWithoutNode(AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> call) => new(call, node: null);

    /// <summary>
    /// Sends a request; the first one carries the node, like Envoy with <c>set_node_on_first_message_only</c>
    /// (GrpcMuxImpl::sendDiscoveryRequest clears the node after the stream's first request; xds_protocol.rst: "Only
    /// the first request on a stream is guaranteed to carry the node identifier").
    /// </summary>
    public Task SendAsync(DiscoveryRequest request)
    {
        if (!_sentNode)
        {
            request.Node ??= _node;
            _sentNode = true;
        }

        return WriteAsync(request);
    }

    public Task SendAsync(string typeUrl, params string[] names) =>
        SendAsync(new DiscoveryRequest { TypeUrl = typeUrl, ResourceNames = { names } });

    public async Task<DiscoveryResponse> RequestAsync(string typeUrl, params string[] names)
    {
        await SendAsync(typeUrl, names);
        return await ReceiveAsync();
    }

    /// <summary>
    /// ACKs <paramref name="response"/> like Envoy: its version and nonce, the names still wanted
    /// (GrpcMuxImpl::onDiscoveryResponse sets the applied version_info and the response's nonce, then re-sends the
    /// request with every watched name; xds_protocol.rst, "ACK").
    /// </summary>
    public Task AckAsync(DiscoveryResponse response, params string[] names) => SendAsync(new DiscoveryRequest
    {
        TypeUrl = response.TypeUrl,
        VersionInfo = response.VersionInfo,
        ResponseNonce = response.Nonce,
        ResourceNames = { names },
    });

    /// <summary>
    /// NACKs <paramref name="response"/>: the previous good version, its nonce, and an error detail (GrpcMuxImpl keeps
    /// the old version_info and sets error_detail when a response fails to apply; xds_protocol.rst, "NACK").
    /// </summary>
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
}
