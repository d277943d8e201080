using System.Net;
using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>What the broker admitted: the agent's Hello, the protocol version agreed on and the workload the registry let it serve.</summary>
internal sealed record AdmittedAgent(Hello Hello, uint Version, WorkloadClaim Claim);

/// <summary>
/// Decides whether an agent's stream is let in: reads its Hello (within <see cref="TunnelBrokerOptions.HelloTimeout"/>),
/// agrees on a protocol version, checks the Hello's shape and has the registry check that the agent may act for the
/// workload. A refusal is the <see cref="RpcException"/> the call ends with (logged once it names a workload).
/// </summary>
internal sealed class AgentAdmission(TunnelBrokerOptions options, ILocalWorkloadRegistry registry, ILogger logger)
{
    /// <summary>Admits the agent of <paramref name="requests"/>, connecting from gRPC peer <paramref name="peer"/>.</summary>
    public async Task<AdmittedAgent> AdmitAsync(IAsyncStreamReader<Frame> requests, string peer, CancellationToken cancellationToken)
    {
        var hello = await ReadHelloAsync(requests, cancellationToken).ConfigureAwait(false);
        try
        {
            var version = VersionNegotiation.Negotiate(hello);
            HelloValidator.Check(hello);
            var claim = await registry.ClaimAsync(hello, PeerAddress(peer), cancellationToken).ConfigureAwait(false);
            return new AdmittedAgent(hello, version, claim);
        }
        catch (RpcException e)
        {
            var workload = HelloValidator.WorkloadOf(hello);
            BrokerLog.AgentRefused(logger, workload, e.StatusCode, e.Status.Detail);
            throw;
        }
    }

    private async Task<Hello> ReadHelloAsync(IAsyncStreamReader<Frame> requests, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.HelloTimeout);
        try
        {
            if (!await requests.MoveNext(timeout.Token).ConfigureAwait(false))
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "the stream ended before the agent's Hello"));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"no Hello within {options.HelloTimeout.TotalSeconds:0.#} s"));
        }

        return requests.Current.FrameCase == Frame.FrameOneofCase.Hello
            ? requests.Current.Hello
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"the first frame must be Hello, got {requests.Current.FrameCase}"));
    }

    /// <summary>The peer's IP from gRPC's <c>ipv4:1.2.3.4:5</c> / <c>ipv6:[::1]:5</c>.</summary>
    private static IPAddress? PeerAddress(string peer)
    {
        var colon = peer.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && IPEndPoint.TryParse(Uri.UnescapeDataString(peer[(colon + 1)..]), out var endpoint) ? endpoint.Address : null;
    }
}
