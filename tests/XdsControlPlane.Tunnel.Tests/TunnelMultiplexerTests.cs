using System.Threading.Channels;
using System.Net.Sockets;
using Google.Protobuf;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel.Tests;

/// <summary>
/// The multiplexer's protocol rules between a broker side and an agent side, with real loopback sockets at both ends
/// and every frame serialized as on the wire: half-closes pass through one direction while the other goes on, a peer
/// that breaks the rules has only its connection closed with the reason, a failed dial reaches the opener.
/// </summary>
public sealed class TunnelMultiplexerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Test]
    public async Task HalfClose_EndsOneDirection_TheOtherGoesOn_ThenTheConnectionIsGone()
    {
        await using var pair = await TunnelPair.StartAsync();
        var (app, laptop) = await pair.OpenAsync();

        await app.SendAsync("request"u8.ToArray());
        app.Shutdown(SocketShutdown.Send);
        Assert.That(await ReadToEndAsync(laptop), Is.EqualTo("request"), "the laptop reads the request, then end of stream");

        await laptop.SendAsync("response"u8.ToArray());
        laptop.Shutdown(SocketShutdown.Send);
        Assert.That(await ReadToEndAsync(app), Is.EqualTo("response"), "the app still gets the answer after its half-close");

        await Eventually(() => pair.Broker.OpenConnections == 0 && pair.Agent.OpenConnections == 0, "both sides to forget the connection");
    }

    [Test]
    public async Task DataBeyondTheWindow_ClosesOnlyThatConnection_WithProtocolError()
    {
        await using var pair = await TunnelPair.StartAsync();
        var (app, _) = await pair.OpenAsync();
        var (other, otherLaptop) = await pair.OpenAsync();
        var closed = new TaskCompletionSource<(ulong Id, CloseReason Reason, string Message)>(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.Broker.ConnectionFailedAtPeer += (id, reason, message) => closed.TrySetResult((id, reason, message));

        // A peer that ignores the window: more bytes than the agent granted, for the first connection.
        var flood = ByteString.CopyFrom(new byte[pair.Agent.Limits.ReceiveWindow + 1]);
        pair.InjectIntoAgent(new Frame { Data = new Data { ConnectionId = 2, Payload = flood } });

        var (id, reason, text) = await closed.Task.WaitAsync(Timeout);
        Assert.Multiple(() =>
        {
            Assert.That((id, reason), Is.EqualTo((2UL, CloseReason.ProtocolError)));
            Assert.That(text, Does.Contain($"more than the {pair.Agent.Limits.ReceiveWindow}-byte window"));
        });
        Assert.That(await ReadToEndAsync(app), Is.Empty, "the app's connection is closed");

        await other.SendAsync("still here"u8.ToArray());
        Assert.That(await ReadAsync(otherLaptop, 10), Is.EqualTo("still here"), "the other connection is undisturbed");
    }

    [Test]
    public async Task OpenWithTheWrongParityOrAReusedId_IsRefused()
    {
        await using var pair = await TunnelPair.StartAsync();
        var refused = Channel.CreateUnbounded<Close>();
        pair.AgentSent += frame =>
        {
            if (frame.FrameCase == Frame.FrameOneofCase.Close)
            {
                refused.Writer.TryWrite(frame.Close);
            }
        };

        pair.InjectIntoAgent(new Frame { Open = new Open { ConnectionId = 3, Port = 9 } });
        var first = await refused.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        await pair.OpenAsync();
        pair.InjectIntoAgent(new Frame { Open = new Open { ConnectionId = 2, Port = 9 } });
        var second = await refused.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That((first.ConnectionId, first.Reason, first.Message), Is.EqualTo((3UL, CloseReason.ProtocolError, "connection id 3 is not one the broker may open")));
            Assert.That((second.ConnectionId, second.Reason, second.Message), Is.EqualTo((2UL, CloseReason.ProtocolError, "connection id 2 was used before")));
        });
    }

    [Test]
    public async Task FailedDial_ReachesTheOpenerWithItsReason_AndResetsTheAppsConnection()
    {
        await using var pair = await TunnelPair.StartAsync(failDial: true);
        var failed = new TaskCompletionSource<(CloseReason, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.Broker.ConnectionFailedAtPeer += (_, reason, message) => failed.TrySetResult((reason, message));

        var app = await pair.OpenAppOnlyAsync();

        Assert.That(await failed.Task.WaitAsync(Timeout), Is.EqualTo((CloseReason.DialFailed, "nothing listens on localhost:8080")));
        Assert.That(await ReadToEndAsync(app), Is.Empty);
    }

    [Test]
    public async Task ConnectionLimit_RefusesTheOneTooMany()
    {
        await using var pair = await TunnelPair.StartAsync(limits: new TunnelLimits { MaxConnections = 1 });
        var refused = new TaskCompletionSource<Close>(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.AgentSent += frame =>
        {
            if (frame.FrameCase == Frame.FrameOneofCase.Close && frame.Close.Reason == CloseReason.Limit)
            {
                refused.TrySetResult(frame.Close);
            }
        };

        await pair.OpenAsync();
        pair.InjectIntoAgent(new Frame { Open = new Open { ConnectionId = 4, Port = 9 } });

        Assert.That((await refused.Task.WaitAsync(Timeout)).Message, Is.EqualTo("too many connections on this tunnel (limit 1)"));
    }

    [Test]
    public async Task Lanes_NewConnectionsTakeTurns_EachCarriesItsOwn_ALostLaneResetsOnlyItsConnections()
    {
        await using var pair = await TunnelPair.StartAsync();
        var (brokerLane, agentLane) = pair.AddLane();
        var (onLane, onLaneLaptop) = await pair.OpenAsync();
        var (onPrimary, onPrimaryLaptop) = await pair.OpenAsync();
        Assert.Multiple(() =>
        {
            Assert.That((brokerLane.OpenConnections, pair.Broker.Primary.OpenConnections), Is.EqualTo((1, 1)), "the broker's connections took turns");
            Assert.That((agentLane.OpenConnections, pair.Agent.Primary.OpenConnections), Is.EqualTo((1, 1)), "the agent's ends are on the stream their Open came on");
        });

        // Several windows' worth each way on the lane's connection: its grants travel on the lane too.
        var bulk = new byte[3 * pair.Broker.Limits.ReceiveWindow];
        Random.Shared.NextBytes(bulk);
        var upload = onLane.SendAsync(bulk);
        Assert.That(await ReadExactlyAsync(onLaneLaptop, bulk.Length), Is.EqualTo(bulk));
        await upload;
        var download = onLaneLaptop.SendAsync(bulk);
        Assert.That(await ReadExactlyAsync(onLane, bulk.Length), Is.EqualTo(bulk));
        await download;

        // The lane's stream is lost: both sides reset its connection; the primary's goes on, and takes the next one.
        pair.Broker.RemoveLane(brokerLane);
        pair.Agent.RemoveLane(agentLane);
        Assert.That(await ReadToEndAsync(onLane), Is.Empty, "the lane's connection is reset");
        await onPrimary.SendAsync("still here"u8.ToArray());
        Assert.That(await ReadAsync(onPrimaryLaptop, 10), Is.EqualTo("still here"));
        var (next, nextLaptop) = await pair.OpenAsync();
        await next.SendAsync("next"u8.ToArray());
        Assert.Multiple(async () =>
        {
            Assert.That(await ReadAsync(nextLaptop, 4), Is.EqualTo("next"));
            Assert.That(pair.Broker.ExtraLanes, Is.Zero);
        });
    }

    /// <summary>
    /// What the agent reports as lost when its broker goes away: the connections of a lane whose stream ended first, and
    /// those still open when the multiplexer is disposed — never one both ends had closed. (A busy-core CI run saw a
    /// killed broker reported as 2 connections lost of 3: the lane's stream had ended before the primary's.)
    /// </summary>
    [Test]
    public async Task ConnectionsCut_ALostLanesAndThoseOpenAtTheEnd_NotOneClosedBefore()
    {
        await using var pair = await TunnelPair.StartAsync();
        var (_, agentLane) = pair.AddLane();
        var (onLane, _) = await pair.OpenAsync();
        var (onPrimary, _) = await pair.OpenAsync();
        var (closed, closedLaptop) = await pair.OpenAsync();
        closed.Shutdown(SocketShutdown.Both);
        closedLaptop.Shutdown(SocketShutdown.Both);
        closed.Dispose();
        closedLaptop.Dispose();
        await Eventually(() => pair.Agent.OpenConnections == 2, "the closed connection to end at the agent");
        Assert.That(pair.Agent.ConnectionsCut, Is.Zero, "a connection closed by its end is not cut");

        pair.Agent.RemoveLane(agentLane);
        var afterLane = pair.Agent.ConnectionsCut;
        await pair.Agent.DisposeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(afterLane, Is.EqualTo(1), "the lane's connection is cut with its stream");
            Assert.That(pair.Agent.ConnectionsCut, Is.EqualTo(2), "and the primary's when the multiplexer ends");
        });
        onLane.Dispose();
        onPrimary.Dispose();
    }

    /// <summary>
    /// When the stream goes away, every open connection is cut and counted — those carrying bytes and one the agent is
    /// still dialling — and a carrying one is reset at the laptop: a FIN would tell the laptop's app that a cut-off
    /// transfer was complete. (A connection that saw the multiplexer's stop before the multiplexer aborted it ended as
    /// if finished: not counted, and closed with a FIN; a busy-core CI run saw a killed broker reported as 2
    /// connections lost of 3.)
    /// </summary>
    [Test]
    public async Task Dispose_EveryOpenConnection_IsCountedAsCut_ThoseCarryingResetAtTheLaptop()
    {
        // The races are between the multiplexer's stop and each connection's own end, and are lost most often while
        // the dispose path is still cold (not yet compiled), as in a real agent's first lost stream: without the fix,
        // 2 of the first 4 runs of this test after a build failed (a carrying connection closed as if finished, or the
        // one still dialling not counted), and 2 of 10 runs of ConnectionsCut_… above.
        const int Rounds = 100;
        var counted = new List<long>();
        var carrying = new List<string>();
        var dialling = new List<string>();
        for (var round = 0; round < Rounds; round++)
        {
            await using var pair = await TunnelPair.StartAsync();
            var (_, agentLane) = pair.AddLane();
            var open = new List<(Socket App, Socket Laptop)>();
            for (var i = 0; i < 2; i++)
            {
                // A byte through each, so the connection is carrying (its dial at the agent done).
                var (app, laptop) = await pair.OpenAsync();
                open.Add((app, laptop));
                await app.SendAsync(new byte[] { 1 });
                await ReadExactlyAsync(laptop, 1);
            }

            var last = await pair.OpenAsync();
            pair.Agent.RemoveLane(agentLane);
            await pair.Agent.DisposeAsync();
            counted.Add(pair.Agent.ConnectionsCut);
            carrying.AddRange(await Task.WhenAll(open.Select(o => EndOfAsync(o.Laptop))));
            dialling.Add(await EndOfAsync(last.Laptop));
            open.Add(last);
            open.ForEach(o => { o.App.Dispose(); o.Laptop.Dispose(); });
        }

        Assert.Multiple(() =>
        {
            Assert.That(Tally(counted), Is.EqualTo($"3 × {Rounds}"), "every open connection counted as cut, in every round");
            Assert.That(Tally(carrying), Is.EqualTo($"reset × {Rounds * 2}"), "and those carrying reset at the laptop, not closed as if finished");
            Assert.That(dialling, Has.None.EqualTo("open"), "the one still dialling is not left open at the laptop");
        });
    }

    [Test]
    public async Task Lanes_OpensOvertakingEachOtherOnDifferentLanes_AreAccepted_AnIdInUseIsNot()
    {
        await using var pair = await TunnelPair.StartAsync();
        var (_, agentLane) = pair.AddLane();

        // The broker opened 4 on its primary and 6 on the lane; the lane's Open arrives first.
        agentLane.Receive(new Frame { Open = new Open { ConnectionId = 6, Port = 8080 } });
        pair.InjectIntoAgent(new Frame { Open = new Open { ConnectionId = 4, Port = 8080 } });
        await Eventually(() => pair.Agent.OpenConnections == 2, "both connections to open");
        agentLane.Receive(new Frame { Open = new Open { ConnectionId = 4, Port = 8080 } });
        agentLane.Receive(new Frame { Open = new Open { ConnectionId = 6, Port = 8080 } });

        Assert.Multiple(() =>
        {
            Assert.That(pair.Agent.OpenConnections, Is.EqualTo(2));
            Assert.That(pair.Agent.RefusedFrames, Is.EqualTo(2), "an id open on another lane, and one the lane used before");
        });
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        for (var got = 0; got < count;)
        {
            got += await socket.ReceiveAsync(buffer.AsMemory(got)).AsTask().WaitAsync(Timeout);
        }

        return buffer;
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        using var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Timeout)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException)
        {
            // Reset.
        }

        return System.Text.Encoding.ASCII.GetString(received.ToArray());
    }

    /// <summary>Each distinct value with how often it occurs, e.g. "3 × 39, 2 × 1".</summary>
    private static string Tally<T>(IEnumerable<T> values) where T : notnull =>
        string.Join(", ", values.CountBy(v => v).OrderByDescending(v => v.Value).Select(v => $"{v.Key} × {v.Value}"));

    /// <summary>How <paramref name="socket"/>'s peer ended it: "reset", "closed" (a FIN) or "open" (nothing within the timeout).</summary>
    private static async Task<string> EndOfAsync(Socket socket)
    {
        var buffer = new byte[1024];
        try
        {
            while (await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Timeout) > 0)
            {
            }

            return "closed";
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return "reset";
        }
        catch (TimeoutException)
        {
            return "open";
        }
    }

    private static async Task<string> ReadAsync(Socket socket, int count) => System.Text.Encoding.ASCII.GetString(await ReadExactlyAsync(socket, count));

    /// <summary>Waits (up to the timeout) until <paramref name="condition"/> holds.</summary>
    internal static async Task Eventually(Func<bool> condition, string what)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            Assert.That(cancel.IsCancellationRequested, Is.False, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}
