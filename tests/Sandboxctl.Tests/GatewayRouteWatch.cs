using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;

namespace Sandboxctl.Tests;

/// <summary>
/// A raw ADS stream subscribed as an Envoy gateway is (node role <c>gateway</c>) to its route configuration
/// <c>gateway-http</c>, every response ACKed, until a virtual host answering a given domain arrives (or is gone).
/// </summary>
internal static class GatewayRouteWatch
{
    /// <summary>The gateway's route configuration: its HTTP listener's name.</summary>
    private const string RouteName = "gateway-http";

    /// <summary>The gateway's virtual host for <paramref name="domain"/> once the control plane on <paramref name="xdsPort"/> serves one (<paramref name="present"/>), or null once it serves none.</summary>
    public static async Task<VirtualHost?> WaitAsync(int xdsPort, string domain, bool present, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{xdsPort}", new GrpcChannelOptions { MaxReceiveMessageSize = null });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: stop.Token);
        var node = new Node { Id = "gateway-preview-test", Cluster = "edge", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("gateway") } } };
        await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = TypeUrls.RouteConfiguration, ResourceNames = { RouteName } }, cancellationToken);
        try
        {
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                var response = call.ResponseStream.Current;
                await call.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce, ResourceNames = { RouteName } }, cancellationToken);
                var found = response.Resources.Select(r => r.Unpack<RouteConfiguration>()).SelectMany(r => r.VirtualHosts).FirstOrDefault(h => h.Domains.Contains(domain));
                if ((found is not null) == present)
                {
                    return found;
                }
            }

            throw new AssertionException("the ADS stream ended");
        }
        finally
        {
            await call.RequestStream.CompleteAsync();
            await stop.CancelAsync();
        }
    }
}
