using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The agent's side of lanes (protocol version 2): once the broker's Welcome offers them, opens up to
/// <c>max_lanes</c> more streams (at most the agent's own <see cref="TunnelLimits.MaxLanes"/>, one per link given —
/// each link its own HTTP/2 connection, whose cork the lane's writer uses), each with the agent's Hello carrying the
/// lane token, and carries each until it or the session ends. A lane the broker refuses, or that fails, only leaves the
/// agent with fewer: its connections are reset, the others go on.
/// </summary>
public static class AgentLanes
{
    /// <summary>How many lanes the agent opens for <paramref name="welcome"/> with <paramref name="limits"/> and <paramref name="clients"/> links.</summary>
    public static int CountFor(Welcome welcome, TunnelLimits limits, int clients)
    {
        ArgumentNullException.ThrowIfNull(welcome);
        ArgumentNullException.ThrowIfNull(limits);
        return welcome.Version < TunnelProtocol.LanesVersion || welcome.LaneToken.IsEmpty ? 0 : Math.Min(Math.Min((int)Math.Min(welcome.MaxLanes, 16), limits.MaxLanes), clients);
    }

    /// <summary>
    /// Opens the lanes <paramref name="welcome"/> offers for <paramref name="multiplexer"/>'s session (the agent's
    /// <paramref name="hello"/> with the lane token) and carries them until <paramref name="cancellationToken"/> fires
    /// (the session's primary stream ended); completes when all are over, never faulting.
    /// </summary>
    public static Task RunAsync(IReadOnlyList<AgentLink> links, Hello hello, Welcome welcome, TunnelMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(links);
        ArgumentNullException.ThrowIfNull(hello);
        ArgumentNullException.ThrowIfNull(multiplexer);
        var count = CountFor(welcome, multiplexer.Limits, links.Count);
        var laneHello = hello.Clone();
        laneHello.LaneToken = welcome.LaneToken;
        return Task.WhenAll(links.Take(count).Select(link => RunLaneAsync(link, laneHello, multiplexer, cancellationToken)));
    }

    private static async Task RunLaneAsync(AgentLink link, Hello hello, TunnelMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        TunnelLane? lane = null;
        using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task writing = Task.CompletedTask;
        try
        {
            using var call = link.Client.Connect(cancellationToken: running.Token);
            await call.RequestStream.WriteAsync(new Frame { Hello = hello }, running.Token).ConfigureAwait(false);
            if (!await call.ResponseStream.MoveNext(running.Token).ConfigureAwait(false) || call.ResponseStream.Current.FrameCase != Frame.FrameOneofCase.Welcome)
            {
                return;
            }

            lane = multiplexer.AddLane();
            if (lane is null)
            {
                return;
            }

            writing = lane.WriteFramesAsync(call.RequestStream, link.Cork, running.Token);
            while (await call.ResponseStream.MoveNext(running.Token).ConfigureAwait(false) && multiplexer.ProtocolFault is null)
            {
                // Frames of a newer protocol are ignored, as on the primary stream.
                lane.Receive(call.ResponseStream.Current);
            }
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException or IOException or InvalidOperationException or ObjectDisposedException)
        {
            // Refused (a limit, an older broker) or lost: the session goes on with its other streams.
        }
        finally
        {
            if (lane is not null)
            {
                multiplexer.RemoveLane(lane);
            }

            await running.CancelAsync().ConfigureAwait(false);
            try
            {
                await writing.ConfigureAwait(false);
            }
            catch (Exception e) when (e is RpcException or OperationCanceledException or IOException or InvalidOperationException or ObjectDisposedException)
            {
                // The lane is over.
            }
        }
    }
}
