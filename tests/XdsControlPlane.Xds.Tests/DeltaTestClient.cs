using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;

namespace XdsControlPlane.Xds.Tests;

/// <summary>A Delta ADS client that behaves like Envoy (node first, ACK by nonce) or misbehaves on purpose.</summary>
internal sealed class DeltaTestClient : TestStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>
{
    private readonly Node? _node;
    private bool _sentNode;
    private int _barriers;

    private DeltaTestClient(AsyncDuplexStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse> call, Node? node)
        : base(call) => _node = node;

    public static DeltaTestClient Open(GrpcChannel channel, Node? node = null) =>
        new(new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).DeltaAggregatedResources(), node ?? XdsTestServer.Node());

    /// <summary>A client that never sends a node (a misbehaving one).</summary>
    public static DeltaTestClient OpenWithoutNode(AsyncDuplexStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse> call) => new(call, node: null);

    public Task SendAsync(DeltaDiscoveryRequest request)
    {
        if (!_sentNode)
        {
            request.Node ??= _node;
            _sentNode = true;
        }

        return WriteAsync(request);
    }

    public async Task<DeltaDiscoveryResponse> SubscribeAsync(string typeUrl, params string[] names)
    {
        await SendAsync(new DeltaDiscoveryRequest { TypeUrl = typeUrl, ResourceNamesSubscribe = { names } });
        return await ReceiveAsync();
    }

    public Task AckAsync(DeltaDiscoveryResponse response) =>
        SendAsync(new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce });

    /// <summary>Proves nothing was sent since the last response read (see <see cref="AdsTestClient.AssertNothingSentAsync"/>).</summary>
    public async Task AssertNothingSentAsync()
    {
        var barrier = $"type.googleapis.com/xdscp.test.DeltaBarrier{++_barriers}";
        var next = await SubscribeAsync(barrier);
        Assert.That(next.TypeUrl, Is.EqualTo(barrier), $"unexpected response: {next.TypeUrl} with {next.Resources.Count} resources, removed [{string.Join(", ", next.RemovedResources)}]");
    }

    public static string[] Names(DeltaDiscoveryResponse response) => response.Resources.Select(r => r.Name).ToArray();
}
