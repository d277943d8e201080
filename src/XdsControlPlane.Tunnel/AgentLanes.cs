using System.IO.Pipelines;
using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The agent's side of lanes (protocol version 2): once the broker's Welcome offers them, opens up to
/// <c>max_lanes</c> more streams (at most the agent's own <see cref="TunnelLimits.MaxLanes"/>, one per link given —
/// each link its own HTTP/2 connection, whose cork the lane's writer uses), each with the agent's Hello carrying the
/// lane token, and carries each until it or the session ends. A lane the broker refuses, or that fails, only leaves the
/// agent with fewer: its connections are reset, the others go on. When the Welcome offers raw lanes and a link can
/// open one (<see cref="AgentLink.OpenRaw"/>), the lane goes on a plain TCP connection (<see cref="RawLane"/>) and
/// falls back to gRPC when that connection is not joined.
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
        return Task.WhenAll(links.Take(count).Select(link => RunLaneAsync(link, laneHello, welcome.RawLanes, multiplexer, cancellationToken)));
    }

    /// <summary>The stream size of the raw lane's reads (one socket read per 64 KiB, not pipe's 4 KiB default) and writes.</summary>
    private const int RawBufferBytes = 64 * 1024;

    /// <summary>
    /// Carries one lane: as a raw lane when the broker offers them and the link can open one; when that lane is not
    /// joined (the connection or the broker refuses it: a proxy that speaks only HTTP/2, an older broker), over gRPC.
    /// </summary>
    private static async Task RunLaneAsync(AgentLink link, Hello hello, bool raw, TunnelMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        if (raw && link.OpenRaw is { } openRaw && await RunRawLaneAsync(openRaw, hello, multiplexer, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        try
        {
            using var call = link.Client.Connect(cancellationToken: cancellationToken);
            await CarryAsync(call.RequestStream, call.ResponseStream, link.Cork, raw: false, hello, multiplexer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsLaneEnd(e))
        {
            // Refused (a limit, an older broker) or lost: the session goes on with its other streams.
        }
    }

    /// <summary>Carries a raw lane; false when it was not joined (nothing was carried on it), so the lane may go over gRPC.</summary>
    private static async Task<bool> RunRawLaneAsync(Func<CancellationToken, Task<Stream>> openRaw, Hello hello, TunnelMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        Stream? connection = null;
        PipeReader? input = null;
        PipeWriter? output = null;
        try
        {
            connection = await openRaw(cancellationToken).ConfigureAwait(false);
            await connection.WriteAsync(RawLane.Preface.ToArray(), cancellationToken).ConfigureAwait(false);
            input = PipeReader.Create(connection, new StreamPipeReaderOptions(bufferSize: RawBufferBytes, minimumReadSize: RawBufferBytes / 4, leaveOpen: true));
            output = PipeWriter.Create(connection, new StreamPipeWriterOptions(minimumBufferSize: RawBufferBytes, leaveOpen: true));
            var channel = new RawFrameChannel(input, output, statusExpected: true);
            return await CarryAsync(channel, channel, cork: null, raw: true, hello, multiplexer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsLaneEnd(e) || e is System.Net.Sockets.SocketException or ArgumentException or UriFormatException)
        {
            // Not reached (or --server not an address a socket can dial) or refused before it joined: false, so the lane
            // goes over gRPC. (Once joined, the lane's end is handled in CarryAsync and true returned: the session goes on
            // with its other streams, as over gRPC.)
            return false;
        }
        finally
        {
            // The connection first: what the pipes still hold has nowhere to go, and completing them then only frees their buffers.
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            await CompleteQuietlyAsync(input, output).ConfigureAwait(false);
        }
    }

    private static async Task CompleteQuietlyAsync(PipeReader? input, PipeWriter? output)
    {
        if (input is not null)
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }

        if (output is not null)
        {
            try
            {
                await output.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                // Its last bytes could not be written: the connection is closed.
            }
        }
    }

    /// <summary>
    /// Sends the lane's Hello on <paramref name="requests"/>, and once <paramref name="responses"/> brings the Welcome,
    /// carries the lane's frames both ways until it or the session ends. False when no Welcome came (the lane was not
    /// joined); exceptions before the Welcome propagate, after it they end the lane quietly.
    /// </summary>
    private static async Task<bool> CarryAsync(IAsyncStreamWriter<Frame> requests, IAsyncStreamReader<Frame> responses, BurstCork? cork, bool raw, Hello hello, TunnelMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await requests.WriteAsync(new Frame { Hello = hello }, running.Token).ConfigureAwait(false);
        if (!await responses.MoveNext(running.Token).ConfigureAwait(false) || responses.Current.FrameCase != Frame.FrameOneofCase.Welcome)
        {
            return false;
        }

        var lane = multiplexer.AddLane(raw);
        if (lane is null)
        {
            return true;
        }

        var writing = Task.CompletedTask;
        try
        {
            writing = lane.WriteFramesAsync(requests, cork, running.Token);
            while (await responses.MoveNext(running.Token).ConfigureAwait(false) && multiplexer.ProtocolFault is null)
            {
                // Frames of a newer protocol are ignored, as on the primary stream.
                lane.Receive(responses.Current);
            }
        }
        catch (Exception e) when (IsLaneEnd(e))
        {
            // Lost: the session goes on with its other streams.
        }
        finally
        {
            multiplexer.RemoveLane(lane);
            await running.CancelAsync().ConfigureAwait(false);
            try
            {
                await writing.ConfigureAwait(false);
            }
            catch (Exception e) when (IsLaneEnd(e))
            {
                // The lane is over.
            }
        }

        return true;
    }

    private static bool IsLaneEnd(Exception e) => e is RpcException or OperationCanceledException or IOException or InvalidOperationException or ObjectDisposedException;
}
