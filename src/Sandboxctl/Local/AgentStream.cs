using Microsoft.Extensions.Logging;
using Grpc.Core;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// One tunnel stream of the agent, from Hello to its end: waits for Welcome, forwards the broker's connections to the
/// laptop and the exposed ports' connections to the broker through a <see cref="TunnelMultiplexer"/> (the stream's
/// only writer), pings every <c>ping_interval_ms</c> and gives the stream up when pongs stop. On stop (Ctrl+C) it says
/// Goodbye and carries on until the broker, having drained, ends the stream (at most a few seconds). A refusal or transport failure is
/// thrown as the <see cref="RpcException"/> the call ended with. When the broker offers lanes (protocol version 2), they
/// are opened through <paramref name="laneLinks"/> (<see cref="AgentLanes"/>) and end with the stream. Each stream's writer
/// holds a burst of Data frames together with its connection's <see cref="BurstCork"/>.
/// </summary>
internal sealed class AgentStream(AgentLink link, IReadOnlyList<AgentLink> laneLinks, AgentStatus status, AgentReporter reporter, TunnelLimits limits, ILogger logger)
{
    /// <summary>How long the broker may take to welcome a Hello.</summary>
    public static readonly TimeSpan WelcomeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How long the broker may drain after Goodbye before the agent closes what is left.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Runs one stream until it ends (returns why) or <paramref name="stop"/> fires (says Goodbye, returns <see cref="StreamEnd.Stopped"/>).</summary>
    public async Task<StreamEnd> RunAsync(Hello hello, LocalDial dial, IReadOnlyList<ExposedListener> exposed, string workload, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(hello);
        ArgumentNullException.ThrowIfNull(dial);
        using var streaming = new CancellationTokenSource();
        using var call = link.Client.Connect(cancellationToken: streaming.Token);
        await call.RequestStream.WriteAsync(new Frame { Hello = hello }, stop).ConfigureAwait(false);
        var welcome = await ReadWelcomeAsync(call, stop).ConfigureAwait(false);

        // What the broker says is checked like any input: a window below 1 KiB (or none) would stall every connection.
        var window = welcome.InitialWindow < 1024 ? (uint)new TunnelLimits().ReceiveWindow : Math.Min(welcome.InitialWindow, (uint)TunnelLimits.MaxWindow);
        var mux = new TunnelMultiplexer(TunnelSide.Agent, (int)window, limits, dial.DialAsync, logger);
        mux.ConnectionFailedAtPeer += (_, reason, message) => reporter.Warning($"the broker closed a connection ({reason}): {message}");
        var again = status.Connections > 0;
        status.OnConnected(welcome, mux);
        reporter.Connected(workload, status.Snapshot(), welcome.Replica, welcome.Endpoints.Select(e => ((int)e.Port, $"{e.Address}:{e.BrokerPort}", e.Protocol)), PreviewLinks.Of(welcome), again);

        var pingInterval = TunnelProtocol.PingIntervalOf(welcome);
        var writing = mux.WriteFramesAsync(call.RequestStream, link.Cork, streaming.Token);
        var reading = ReadAsync(call, mux, streaming.Token);
        var pinging = PingAsync(mux, pingInterval, streaming.Token);
        var accepting = Task.WhenAll(exposed.Select(e => e.AcceptAsync(mux, welcome.RoutingKey, reporter, streaming.Token)));
        var lanes = AgentLanes.RunAsync(laneLinks, hello, welcome, mux, streaming.Token);
        var stopped = Task.Delay(Timeout.Infinite, stop);
        var saidGoodbye = false;
        try
        {
            var first = await Task.WhenAny(reading, writing, pinging, stopped).ConfigureAwait(false);
            if (first == stopped)
            {
                // The broker withdraws the routes, keeps carrying what is in flight while the data planes move to
                // the baseline, then ends the stream: connections go on until then (or the drain timeout).
                saidGoodbye = true;
                mux.SendControl(new Frame { Goodbye = new Goodbye { Reason = "the developer stopped sandboxctl local connect" } });
                await Quietly(reading.WaitAsync(DrainTimeout, CancellationToken.None)).ConfigureAwait(false);
                await mux.DisposeAsync().ConfigureAwait(false);
                await Quietly(writing).ConfigureAwait(false);
                await Quietly(call.RequestStream.CompleteAsync()).ConfigureAwait(false);
                return StreamEnd.Stopped;
            }

            if (first == pinging)
            {
                return new StreamEnd(await pinging.ConfigureAwait(false));
            }

            // Reading or writing ended: a status the call ended with is thrown from here. A write that lost the race
            // with the end of the call fails with "the call is complete": the status the reader gets says why.
            if (first == writing && writing.IsFaulted)
            {
                await Quietly(reading.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false);
                if (reading.IsFaulted)
                {
                    await reading.ConfigureAwait(false);
                }

                return new StreamEnd($"the stream stopped taking frames ({writing.Exception?.GetBaseException().Message})");
            }

            await first.ConfigureAwait(false);
            return new StreamEnd(first == reading ? "the broker ended the stream" : "the stream stopped taking frames");
        }
        finally
        {
            // Connections cut when a stream ends without the developer's goodbye are lost: those still open now, and those
            // of a lane that went first (a broker killed ends the lanes' streams and the primary's in any order).
            await streaming.CancelAsync().ConfigureAwait(false);
            await mux.DisposeAsync().ConfigureAwait(false);
            var lost = saidGoodbye ? 0 : (int)mux.ConnectionsCut;
            await Quietly(writing).ConfigureAwait(false);
            await Quietly(reading).ConfigureAwait(false);
            await Quietly(pinging).ConfigureAwait(false);
            await Quietly(accepting).ConfigureAwait(false);
            await Quietly(lanes).ConfigureAwait(false);
            status.OnDisconnected(lost);
        }
    }

    private static async Task<Welcome> ReadWelcomeAsync(AsyncDuplexStreamingCall<Frame, Frame> call, CancellationToken stop)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
        deadline.CancelAfter(WelcomeTimeout);
        try
        {
            if (!await call.ResponseStream.MoveNext(deadline.Token).ConfigureAwait(false))
            {
                throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "the broker ended the stream without a Welcome"));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled } && !stop.IsCancellationRequested)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, $"no Welcome within {WelcomeTimeout.TotalSeconds:0} s"));
        }

        return call.ResponseStream.Current.Welcome
            ?? throw new RpcException(new Grpc.Core.Status(StatusCode.FailedPrecondition, $"the broker answered Hello with {call.ResponseStream.Current.FrameCase}, not Welcome"));
    }

    private async Task ReadAsync(AsyncDuplexStreamingCall<Frame, Frame> call, TunnelMultiplexer mux, CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            var frame = call.ResponseStream.Current;
            if (frame.FrameCase == Frame.FrameOneofCase.Pong)
            {
                status.OnPong();
            }
            else
            {
                // Frames of a newer protocol (and a second Welcome) are ignored.
                mux.Receive(frame);
                if (mux.ProtocolFault is { } fault)
                {
                    throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, $"{fault}; ending the stream"));
                }
            }
        }
    }

    /// <summary>Pings until cancelled; returns why the stream is dead when the broker stops answering.</summary>
    private async Task<string> PingAsync(TunnelMultiplexer mux, TimeSpan interval, CancellationToken cancellationToken)
    {
        var silence = TunnelProtocol.AgentSilence(interval);
        ulong id = 0;
        try
        {
            while (true)
            {
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                if (status.Snapshot().HeartbeatAge > silence)
                {
                    return $"no answer to pings for {silence.TotalSeconds:0} s";
                }

                mux.SendControl(new Frame { Ping = new Ping { Id = ++id, SentUnixNanos = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100 } });
            }
        }
        catch (OperationCanceledException)
        {
            return "stopped";
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The stream is over; how its parts ended says nothing more.
        }
    }
}

/// <summary>How a stream ended: stopped by the developer, or lost for <see cref="Reason"/>.</summary>
internal sealed record StreamEnd(string Reason)
{
    /// <summary>The developer stopped the agent; Goodbye was sent.</summary>
    public static readonly StreamEnd Stopped = new("stopped");
}
