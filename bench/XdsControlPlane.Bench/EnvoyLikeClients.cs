using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Bench;

/// <summary>
/// Client mode: N ADS streams that behave like Envoy: subscribe to CDS and LDS (wildcard), EDS and RDS (by name),
/// and ACK every response with its version and nonce. Runs until standard input closes.
/// </summary>
internal static class EnvoyLikeClients
{
    public static async Task<int> RunAsync(int port, int streams)
    {
        using var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = null });
        var client = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel);
        using var stop = new CancellationTokenSource();
        var runs = Enumerable.Range(0, streams).Select(i => RunStreamAsync(client, i, stop.Token)).ToArray();
        await Console.Out.WriteLineAsync("started");
        await Console.In.ReadToEndAsync(CancellationToken.None); // the parent closes stdin to stop us
        await stop.CancelAsync();
        await Task.WhenAll(runs).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return 0;
    }

    private static async Task RunStreamAsync(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, int index, CancellationToken cancellationToken)
    {
        var names = new Dictionary<string, string[]>
        {
            [TypeUrls.Cluster] = [],
            [TypeUrls.ClusterLoadAssignment] = BenchSnapshot.ClusterNames.ToArray(),
            [TypeUrls.Listener] = [],
            [TypeUrls.RouteConfiguration] = BenchSnapshot.RouteNames.ToArray(),
        };
        using var call = client.StreamAggregatedResources(cancellationToken: cancellationToken);
        var node = new Node { Id = $"bench-{index}", Cluster = "bench" };
        foreach (var (type, requested) in names)
        {
            await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = type, ResourceNames = { requested } }, cancellationToken);
            node = null;
        }

        try
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                await call.RequestStream.WriteAsync(
                    new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce, ResourceNames = { names[response.TypeUrl] } },
                    cancellationToken);
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
        }
    }
}
