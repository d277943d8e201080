using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Reads an admitted agent's frames until the stream ends: connection frames go to the multiplexer, a Ping is answered
/// with a Pong (and counts as a heartbeat), a Goodbye withdraws the routes at once and drains the stream. An agent
/// that sends and never reads, sends a second Hello, or breaks the protocol more than
/// <see cref="TunnelLimits.MaxProtocolErrors"/> times, ends the stream with a status.
/// </summary>
internal sealed class AgentFrameReader(TunnelBrokerOptions options, ILocalWorkloadRegistry registry, TimeProvider clock, ILogger logger)
{
    /// <summary>
    /// Reads frames until the stream ends. After the agent's goodbye its routes are withdrawn at once, and the stream
    /// keeps carrying for <see cref="TunnelBrokerOptions.GoodbyeDrain"/> — while the data planes move to the baseline,
    /// requests already on their way still reach the laptop instead of failing — then the broker ends it.
    /// </summary>
    /// <param name="requests">The stream's frames.</param>
    /// <param name="session">The agent's session.</param>
    /// <param name="lane">Which of the session's streams this is (its primary, or a lane of protocol version 2).</param>
    /// <param name="activity">Where heard frames and pings are noted.</param>
    /// <param name="cancellationToken">Ends the reading.</param>
    public async Task ReadAsync(IAsyncStreamReader<Frame> requests, TunnelSession session, TunnelLane lane, StreamActivity activity, CancellationToken cancellationToken)
    {
        var multiplexer = session.Multiplexer;
        try
        {
            while (await requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var frame = requests.Current;
                activity.Heard(clock.GetUtcNow());
                if (lane.ControlQueued > multiplexer.MaxControlQueued)
                {
                    // Every frame may need an answer; an agent that sends and never reads would grow them without bound.
                    throw new RpcException(new Status(StatusCode.ResourceExhausted, $"the agent does not read the broker's frames ({lane.ControlQueued} answers waiting); ending the stream"));
                }

                if (lane.Receive(frame))
                {
                    if (multiplexer.ProtocolFault is { } fault)
                    {
                        // Frames for connections that were never opened, past the limit: answering each would flood both ends.
                        throw new RpcException(new Status(StatusCode.InvalidArgument, $"{fault}; ending the stream"));
                    }

                    continue;
                }

                switch (frame.FrameCase)
                {
                    case Frame.FrameOneofCase.Ping:
                        activity.Pinged(clock.GetUtcNow());
                        lane.SendControl(new Frame { Pong = new Pong { Id = frame.Ping.Id, PingSentUnixNanos = frame.Ping.SentUnixNanos, OpenConnections = (uint)multiplexer.OpenConnections } });
                        break;
                    case Frame.FrameOneofCase.Goodbye when !session.SaidGoodbye:
                        session.SaidGoodbye = true;
                        _ = DrainAsync(session);
                        break;
                    case Frame.FrameOneofCase.Hello or Frame.FrameOneofCase.Welcome:
                        throw new RpcException(new Status(StatusCode.InvalidArgument, $"{frame.FrameCase} is only the first frame of a stream"));
                    default:
                        // A frame of a newer protocol version (or a Pong): ignored, as the protocol says.
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
            // The agent's connection went away.
        }
    }

    private async Task DrainAsync(TunnelSession session)
    {
        try
        {
            await registry.ReleasedAsync(session.Claim, goodbye: true, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            BrokerLog.ReleaseFailed(logger, session.Claim.Key, e.Message);
        }

        await Task.Delay(options.GoodbyeDrain, clock, CancellationToken.None).ConfigureAwait(false);
        session.End("goodbye");
    }
}
