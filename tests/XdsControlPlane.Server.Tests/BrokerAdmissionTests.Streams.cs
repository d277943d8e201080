using Grpc.Core;
using Grpc.Net.Client;
using Google.Protobuf;
using System.Net;
using System.Net.Sockets;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// Lanes (tunnel protocol version 2) through the real server: an agent that speaks version 2 is offered them and opens
/// them on HTTP/2 connections of their own, data planes' connections take turns over its streams and each carries its
/// own bytes; a lane's Hello with the wrong token, for another session, of version 1 or one too many is refused with
/// the field named and the agent goes on; an agent of version 1 is offered none. And the session's buffer budget
/// against an agent that never reads and fills the windows of data planes that do not read either.
/// </summary>
public sealed partial class BrokerAdmissionTests
{
    [Test]
    public async Task Lanes_Version2Agent_OpensThem_ConnectionsTakeTurnsOverItsStreams_EachCarriesItsOwnBytes()
    {
        await using var echo = new EchoServer();
        await using var agent = await TunnelTestAgent.ConnectAsync(Host.TunnelPort, Hello("laned", routingKey: "laned"), new Dictionary<int, int> { [8080] = echo.Port }, lanes: 3);
        Assert.That((agent.Welcome.Version, agent.Welcome.MaxLanes, agent.Welcome.LaneToken.Length), Is.EqualTo((2u, 3u, 32)));
        await Eventually.WaitAsync(() => agent.Multiplexer.ExtraLanes == 3, "the agent's three lanes to attach");

        await EchoOverConnectionsAsync(agent, 8, 256 * 1024, () => Assert.That(agent.Multiplexer.Lanes.Select(l => l.OpenConnections), Is.EqualTo(new[] { 2, 2, 2, 2 }), "two on each of the agent's four streams"));
    }

    [Test]
    public async Task LaneHellos_WrongTokenOtherSessionVersionOneOrOneTooMany_RefusedNamingTheField_TheAgentGoesOn()
    {
        await using var echo = new EchoServer();
        var session = $"lanes-{Interlocked.Increment(ref _session)}";
        await using var agent = await TunnelTestAgent.ConnectAsync(Host.TunnelPort, Hello("lane-refusals", routingKey: "lane-refusals", session: session), new Dictionary<int, int> { [8080] = echo.Port }, lanes: 3);
        await Eventually.WaitAsync(() => agent.Multiplexer.ExtraLanes == 3, "the agent's three lanes to attach");
        var token = agent.Welcome.LaneToken;
        _log.Expect("Refused an agent");
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Host.TunnelPort}");
        var client = new TunnelBroker.TunnelBrokerClient(channel);

        var refusals = new List<RpcException?>();
        foreach (var lane in new[]
        {
            Hello("lane-refusals", routingKey: "lane-refusals", session: session, change: h => h.LaneToken = ByteString.CopyFrom(new byte[32])),
            Hello("lane-refusals", routingKey: "lane-refusals", change: h => h.LaneToken = token),
            Hello("lane-refusals", routingKey: "lane-refusals", session: session, change: h => (h.MaxVersion, h.LaneToken) = (1, token)),
            Hello("lane-refusals", routingKey: "lane-refusals", session: session, change: h => h.LaneToken = ByteString.CopyFrom(new byte[5])),
            Hello("lane-refusals", routingKey: "lane-refusals", session: session, change: h => h.LaneToken = token),
        })
        {
            var (call, _, refusal) = await TryHelloAsync(client, lane);
            using (call)
            {
                refusals.Add(refusal);
            }
        }

        Assert.Multiple(async () =>
        {
            Assert.That(refusals.Select(r => r?.StatusCode), Is.EqualTo(new StatusCode?[] { StatusCode.PermissionDenied, StatusCode.PermissionDenied, StatusCode.InvalidArgument, StatusCode.InvalidArgument, StatusCode.ResourceExhausted }));
            Assert.That(refusals[0]!.Status.Detail, Is.EqualTo("Hello.lane_token: no stream of this agent session is attached to LocalWorkload shop/lane-refusals with that lane token"));
            Assert.That(refusals[2]!.Status.Detail, Is.EqualTo("Hello.lane_token: lanes need tunnel protocol version 2, agreed on 1"));
            Assert.That(refusals[3]!.Status.Detail, Is.EqualTo("Hello.lane_token: must be 32 bytes, got 5"));
            Assert.That(refusals[4]!.Status.Detail, Is.EqualTo("the agent session has its 3 lanes already (Tunnel:Limits:MaxLanes)"));
            Assert.That(agent.Multiplexer.ExtraLanes, Is.EqualTo(3));
            Assert.That(await EchoThroughAsync(agent), Is.EqualTo("ping"), "the agent's tunnel still carries");
        });
    }

    [Test]
    public async Task Version1Agent_IsOfferedNoLanes_AndCarriesOnOneStream()
    {
        await using var echo = new EchoServer();
        await using var agent = await TunnelTestAgent.ConnectAsync(Host.TunnelPort, Hello("lane-v1", routingKey: "lane-v1", change: h => h.MaxVersion = 1), new Dictionary<int, int> { [8080] = echo.Port }, lanes: 3);
        Assert.Multiple(async () =>
        {
            Assert.That((agent.Welcome.Version, agent.Welcome.MaxLanes, agent.Welcome.LaneToken.IsEmpty), Is.EqualTo((1u, 0u, true)));
            Assert.That(await EchoThroughAsync(agent), Is.EqualTo("ping"));
            Assert.That(agent.Multiplexer.ExtraLanes, Is.Zero);
        });
    }

    [Test]
    public async Task HostileAgentThatNeverReads_FillsTheWindowsOfStalledDataPlanes_TheBrokerHoldsAtMostTheBudget()
    {
        await using var echo = new EchoServer();
        await using var other = await ConnectAsync(Hello("budget-other", routingKey: "budget-other"), echo.Port);
        var (overBefore, openBefore) = (await MetricAsync("tunnel_broker_connections_over_budget_total"), await MetricAsync("tunnel_broker_connections_open"));
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Host.TunnelPort}");
        using var call = new TunnelBroker.TunnelBrokerClient(channel).Connect();
        await call.RequestStream.WriteAsync(new Frame { Hello = Hello("hoarder", routingKey: "hoarder") });
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Timeout), Is.True, "welcomed");
        var welcome = call.ResponseStream.Current.Welcome;

        // From here on the agent reads nothing. Eight data planes connect and do not read either: small receive buffers and
        // segments, so the kernel takes little of what the broker sends them (on loopback a socket's send buffer starts at
        // ten segments of 64 KiB) and the rest waits in the broker.
        var broker = new IPEndPoint(IPAddress.Loopback, (int)welcome.Endpoints.Single().BrokerPort);
        var dataPlanes = new List<Socket>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                socket.SetRawSocketOption(6 /* IPPROTO_TCP */, 2 /* TCP_MAXSEG */, BitConverter.GetBytes(1024));
                dataPlanes.Add(socket);
                await socket.ConnectAsync(broker);
            }

            await Eventually.WaitAsync(async () => await MetricAsync("tunnel_broker_connections_open") - openBefore >= 8, "the broker to open the eight connections");

            // The agent sends each of them its whole window (the broker opened ids 2, 4, … 16): 8 MiB for a 4 MiB budget.
            var payload = ByteString.CopyFrom(new byte[welcome.MaxData]);
            for (var c = 0UL; c < 8; c++)
            {
                for (var sent = 0; sent + payload.Length <= welcome.InitialWindow; sent += payload.Length)
                {
                    await call.RequestStream.WriteAsync(new Frame { Data = new Data { ConnectionId = 2 + (2 * c), Payload = payload } });
                }
            }

            var held = "";
            await Eventually.WaitAsync(
                async () =>
                {
                    var now = await MetricsAsync();
                    held = $"{now.GetValueOrDefault("tunnel_broker_buffered_bytes")} bytes held, {now.GetValueOrDefault("tunnel_broker_connections_over_budget_total") - overBefore} ended";
                    return now.GetValueOrDefault("tunnel_broker_connections_over_budget_total") - overBefore >= 3;
                },
                () => $"the connections past the budget to be ended ({held})");
            var metrics = await MetricsAsync();
            Assert.Multiple(async () =>
            {
                Assert.That(metrics["tunnel_broker_buffered_bytes"], Is.InRange(1, StreamBufferBudget), "the broker holds bytes, never more than the budget");
                Assert.That(metrics["tunnel_broker_connections_over_budget_total"] - overBefore, Is.InRange(3, 6), "about four windows fit, the rest ended");
                Assert.That(await EchoThroughAsync(other), Is.EqualTo("ping"), "another agent's tunnel still carries");
            });
        }
        finally
        {
            foreach (var socket in dataPlanes)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>
    /// Opens <paramref name="count"/> data-plane connections to the agent's broker port at once (as iperf3 -P holds
    /// them), waits until the agent has them all, lets <paramref name="whileOpen"/> check where they went, then sends
    /// <paramref name="length"/> random bytes on each and asserts each got exactly its own back.
    /// </summary>
    internal static async Task EchoOverConnectionsAsync(TunnelTestAgent agent, int count, int length, Action whileOpen)
    {
        var broker = new IPEndPoint(IPAddress.Loopback, (int)agent.Welcome.Endpoints.Single().BrokerPort);
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                await socket.ConnectAsync(broker);
            }

            await Eventually.WaitAsync(() => agent.Multiplexer.OpenConnections == count, $"the agent to have the {count} connections");
            whileOpen();
            var sent = sockets.Select(_ => RandomBytes(length)).ToArray();
            var echoed = await Task.WhenAll(sockets.Select(async (socket, i) =>
            {
                var sending = socket.SendAsync(sent[i]);
                var back = await ReadExactlyAsync(socket, sent[i].Length);
                await sending;
                return back;
            }));
            Assert.That(echoed, Is.EqualTo(sent), "every connection got back exactly its own bytes");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        using var cancel = new CancellationTokenSource(Timeout);
        for (var got = 0; got < count;)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(got), cancel.Token);
            Assert.That(read, Is.Positive, "the connection ended early");
            got += read;
        }

        return buffer;
    }
}
