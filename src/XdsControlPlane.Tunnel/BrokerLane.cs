using System.Security.Cryptography;
using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Serves a lane (protocol version 2): another stream of an attached agent's session, for bulk traffic. Its Hello must
/// name the workload whose attached stream has the same session id and lane token (told only in that stream's Welcome);
/// then it gets a Welcome and carries the connections either side opens on it, until it or the session ends. The
/// session's limits (connections, buffer budget, protocol errors) cover its lanes too.
/// </summary>
internal sealed class BrokerLane(TunnelBrokerOptions options, ILocalWorkloadRegistry registry, WorkloadTunnels tunnels, TimeProvider clock, ILogger logger)
{
    private readonly AgentFrameReader _reader = new(options, registry, clock, logger);

    /// <summary>Joins <paramref name="lane"/>'s stream (a raw lane's connection when <paramref name="raw"/>) to its session and carries it; throws an <see cref="AgentRefusedException"/> when it may not join.</summary>
    public async Task RunAsync(AdmittedAgent lane, IAsyncStreamReader<Frame> requests, IServerStreamWriter<Frame> responses, bool raw, CancellationToken cancellationToken)
    {
        var hello = lane.Hello;
        var key = $"{hello.Namespace}/{hello.LocalWorkload}";
        var session = tunnels.AttachedSession(key);
        if (session is null || session.Claim.SessionId != hello.SessionId || !CryptographicOperations.FixedTimeEquals(session.LaneToken, hello.LaneToken.Span))
        {
            throw new AgentRefusedException(AgentRefusal.Denied, StatusCode.PermissionDenied, $"Hello.lane_token: no stream of this agent session is attached to LocalWorkload {HelloValidator.WorkloadOf(hello)} with that lane token");
        }

        var joined = session.Multiplexer.AddLane(raw)
            ?? throw new AgentRefusedException(AgentRefusal.BrokerFull, StatusCode.ResourceExhausted, $"the agent session has its {options.Limits.MaxLanes} lanes already (Tunnel:Limits:MaxLanes)");
        try
        {
            await responses.WriteAsync(new Frame { Welcome = new Welcome { Version = lane.Version } }, cancellationToken).ConfigureAwait(false);
            using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, session.Ended);
            var writing = joined.WriteFramesAsync(responses, running.Token);
            try
            {
                await _reader.ReadAsync(requests, session, joined, new StreamActivity(clock.GetUtcNow()), running.Token).ConfigureAwait(false);
            }
            finally
            {
                await running.CancelAsync().ConfigureAwait(false);
                try
                {
                    await writing.ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or RpcException)
                {
                    // The lane is over.
                }
            }
        }
        finally
        {
            session.Multiplexer.RemoveLane(joined);
        }
    }
}
