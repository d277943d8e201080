using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// Raw lanes through the real server's plaintext tunnel port: an agent offered them opens its lanes as plain TCP
/// connections to the same port and data planes' connections carry their own bytes over them; gRPC on that port is
/// unchanged. A raw connection with a wrong lane token, a primary's Hello, a record over the limit, a record of an
/// unknown kind or bytes that are not protobuf is refused with a status record naming the problem, and the agent's
/// session goes on.
/// </summary>
public sealed partial class BrokerAdmissionTests
{
    [Test]
    public async Task RawLanes_OfferedOnPlaintext_AgentOpensThem_ConnectionsCarryTheirOwnBytes()
    {
        await using var echo = new EchoServer();
        var rawBefore = Metrics.RawLaneConnections;
        await using var agent = await TunnelTestAgent.ConnectAsync(Host.TunnelPort, Hello("raw", routingKey: "raw"), new Dictionary<int, int> { [8080] = echo.Port }, lanes: 3, rawLanes: true);
        Assert.That(agent.Welcome.RawLanes, Is.True, "offered: the tunnel port is plaintext");
        await Eventually.WaitAsync(() => agent.Multiplexer.ExtraLanes == 3 && Metrics.RawLaneConnections == rawBefore + 3, "the agent's three lanes to attach as raw lanes");

        // More than a receive window each way, so grants travel back over the raw lanes too.
        await EchoOverConnectionsAsync(agent, 8, 3 * 1024 * 1024, () => Assert.Multiple(() =>
        {
            // Lane numbers are each side's order of joining (three lanes join at once), so the counts, not their places.
            Assert.That(agent.Multiplexer.Lanes.Select(l => (l.Raw, l.OpenConnections)).First(), Is.EqualTo((false, 0)), "none on the primary");
            Assert.That(agent.Multiplexer.Lanes.Skip(1).Select(l => (l.Raw, l.OpenConnections)).Order(), Is.EqualTo(new[] { (true, 2), (true, 3), (true, 3) }), "the eight in turn over the three raw lanes");
        }));
    }

    [Test]
    public async Task RawConnections_WrongTokenPrimaryHelloOversizeUnknownKindNotProtobuf_RefusedWithStatusRecord_SessionGoesOn()
    {
        await using var echo = new EchoServer();
        await using var agent = await TunnelTestAgent.ConnectAsync(Host.TunnelPort, Hello("raw-refusals", routingKey: "raw-refusals", session: "raw-session"), new Dictionary<int, int> { [8080] = echo.Port }, lanes: 1, rawLanes: true);
        await Eventually.WaitAsync(() => agent.Multiplexer.ExtraLanes == 1, "the agent's lane to attach");
        var laneHello = Hello("raw-refusals", routingKey: "raw-refusals", session: "raw-session");
        laneHello.LaneToken = ByteString.CopyFrom(new byte[32]);
        _log.Expect("Hello.lane_token");

        var wrongToken = await RawExchangeAsync(Record(RawLane.FrameRecord, new Frame { Hello = laneHello }.ToByteArray()));
        var primary = await RawExchangeAsync(Record(RawLane.FrameRecord, new Frame { Hello = Hello("raw-primary", routingKey: "raw-primary") }.ToByteArray()));
        var oversize = await RawExchangeAsync(Header(RawLane.FrameRecord, RawLane.MaxRecordBytes + 1));
        var unknownKind = await RawExchangeAsync(Header(7, 10));
        var notProtobuf = await RawExchangeAsync(Record(RawLane.FrameRecord, [0xff, 0xff, 0xff, 0xff]));

        Assert.Multiple(() =>
        {
            Assert.That(wrongToken, Is.EqualTo((StatusCode.PermissionDenied, "Hello.lane_token: no stream of this agent session is attached to LocalWorkload shop/raw-refusals with that lane token")));
            Assert.That(primary.Code, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(primary.Detail, Does.StartWith("Hello.lane_token: a raw lane's connection carries a lane of an attached session only"));
            Assert.That(Inputs!.FindLocalWorkload("shop", "raw-primary"), Is.Null, "a primary's Hello on a raw connection claims nothing");
            Assert.That(oversize, Is.EqualTo((StatusCode.InvalidArgument, $"raw lane: a record of {RawLane.MaxRecordBytes + 1} bytes (a frame at most {RawLane.MaxRecordBytes}, a status 4 to {4 + RawLane.MaxDetailBytes}); ending the lane")));
            Assert.That(unknownKind, Is.EqualTo((StatusCode.InvalidArgument, "raw lane: a record of kind 7 (only 0, a frame); ending the lane")));
            Assert.That(notProtobuf.Code, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(notProtobuf.Detail, Does.StartWith("raw lane: a frame that is not protobuf"));
            Assert.That(agent.Multiplexer.ExtraLanes, Is.EqualTo(1), "the session's lane is untouched");
        });

        // The session still carries bytes, over its raw lane and its stream.
        var broker = new IPEndPoint(IPAddress.Loopback, (int)agent.Welcome.Endpoints.Single().BrokerPort);
        foreach (var _ in Enumerable.Range(0, 2))
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(broker);
            var bytes = RandomBytes(100_000);
            await socket.SendAsync(bytes);
            Assert.That(await ReadExactlyAsync(socket, bytes.Length), Is.EqualTo(bytes));
        }
    }

    [Test]
    public async Task ConnectionsResetBeforeOrInsideTheirStart_AreDroppedQuietly_TheBrokerServesTheNext()
    {
        // A port-forward cut, or a client gone: reset before any byte, inside the preface, after it, inside the Hello.
        var hello = Record(RawLane.FrameRecord, new Frame { Hello = Hello("raw-reset", routingKey: "raw-reset") }.ToByteArray());
        byte[][] starts = [[], [.. RawLane.Preface[..4]], [.. RawLane.Preface], [.. RawLane.Preface, .. hello[..(hello.Length / 2)]]];
        using var cancel = new CancellationTokenSource(Timeout);
        foreach (var start in starts)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Host.TunnelPort), cancel.Token);
            await socket.SendAsync(start, cancel.Token);
            socket.LingerState = new LingerOption(true, 0);
        }

        // Served after them: a refusal with its status (and the reset connections left no warning or error: the teardown checks).
        var wrongToken = Hello("raw-reset", routingKey: "raw-reset");
        wrongToken.LaneToken = ByteString.CopyFrom(new byte[32]);
        _log.Expect("Hello.lane_token");
        Assert.That((await RawExchangeAsync(Record(RawLane.FrameRecord, new Frame { Hello = wrongToken }.ToByteArray()))).Code, Is.EqualTo(StatusCode.PermissionDenied));
    }

    /// <summary>
    /// Sends the raw lane's preface and <paramref name="records"/> and reads the broker's answer to its end: the status
    /// record, then the connection closed. (Not half-closed first: Kestrel ends a connection at the peer's FIN.)
    /// </summary>
    private async Task<(StatusCode Code, string Detail)> RawExchangeAsync(byte[] records)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Host.TunnelPort), cancel.Token);
        await socket.SendAsync(RawLane.Preface.ToArray(), cancel.Token);
        await socket.SendAsync(records, cancel.Token);
        using var answer = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, cancel.Token)) > 0)
        {
            answer.Write(buffer, 0, read);
        }

        var bytes = answer.ToArray();
        Assert.That(bytes, Has.Length.GreaterThanOrEqualTo(RawLane.HeaderBytes + 4), () => "the broker answers with a status record; its log: " + string.Join("\n", _log.Events.TakeLast(10).Select(e => $"{e.EventId} {e.Text}")));
        Assert.That(bytes[0], Is.EqualTo(RawLane.StatusRecord), "the answer is a status record");
        var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(1));
        Assert.That(bytes, Has.Length.EqualTo(RawLane.HeaderBytes + length), "the status record is the last thing sent");
        return ((StatusCode)BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(RawLane.HeaderBytes)), Encoding.UTF8.GetString(bytes, RawLane.HeaderBytes + 4, length - 4));
    }

    private static byte[] Header(byte kind, int length)
    {
        var header = new byte[RawLane.HeaderBytes];
        RawLane.WriteHeader(header, kind, length);
        return header;
    }

    private static byte[] Record(byte kind, byte[] body) => [.. Header(kind, body.Length), .. body];
}
