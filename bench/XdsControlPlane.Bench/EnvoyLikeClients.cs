using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;

namespace XdsControlPlane.Bench;

/// <summary>
/// Client mode: N ADS streams that behave like Envoy: subscribe to CDS and LDS (wildcard), EDS and RDS (by name),
/// and ACK every response. State of the World ACKs carry the version, nonce and names; Delta ACKs only the nonce.
/// Runs until standard input closes.
/// </summary>
internal static class EnvoyLikeClients
{
    private static readonly Dictionary<string, string[]> Subscriptions = new()
    {
        [TypeUrls.Cluster] = [],
        [TypeUrls.ClusterLoadAssignment] = BenchSnapshot.ClusterNames.ToArray(),
        [TypeUrls.Listener] = [],
        [TypeUrls.RouteConfiguration] = BenchSnapshot.RouteNames.ToArray(),
    };

    public static async Task<int> RunAsync(int port, int streams, BenchProtocol protocol)
    {
        using var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = null });
        var client = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel);
        using var stop = new CancellationTokenSource();
        var runs = Enumerable.Range(0, streams)
            .Select(i => protocol == BenchProtocol.Delta ? RunDeltaStreamAsync(client, i, stop.Token) : RunStreamAsync(client, i, stop.Token))
            .ToArray();
        await Console.Out.WriteLineAsync("started");
        await Console.In.ReadToEndAsync(CancellationToken.None); // the parent closes stdin to stop us
        await stop.CancelAsync();
        await Task.WhenAll(runs).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return 0;
    }

    private static async Task RunStreamAsync(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, int index, CancellationToken cancellationToken)
    {
        using var call = client.StreamAggregatedResources(cancellationToken: cancellationToken);
        var node = new Node { Id = $"bench-{index}", Cluster = "bench" };
        foreach (var (type, requested) in Subscriptions)
        {
            await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = type, ResourceNames = { requested } }, cancellationToken);
            node = null;
        }

        try
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                await call.RequestStream.WriteAsync(
                    new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce, ResourceNames = { Subscriptions[response.TypeUrl] } },
                    cancellationToken);
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
        }
    }

    private static async Task RunDeltaStreamAsync(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, int index, CancellationToken cancellationToken)
    {
        using var call = client.DeltaAggregatedResources(cancellationToken: cancellationToken);
        var node = new Node { Id = $"bench-{index}", Cluster = "bench" };
        foreach (var (type, subscribe) in Subscriptions)
        {
            await call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { Node = node, TypeUrl = type, ResourceNamesSubscribe = { subscribe } }, cancellationToken);
            node = null;
        }

        try
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                await call.RequestStream.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce }, cancellationToken);
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
        {
        }
    }
}

/// <summary>The xDS protocol variant the benchmark's clients speak.</summary>
internal enum BenchProtocol
{
    /// <summary>State of the World ADS.</summary>
    Sotw,

    /// <summary>Delta (incremental) ADS.</summary>
    Delta,
}
