using System.Globalization;
using System.Net.Sockets;
using CsCheck;
using Google.Protobuf;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel.Tests;

/// <summary>
/// Property-based fuzzing (CsCheck) of the multiplexer with what a hostile peer may send: random sequences of Open,
/// Data, HalfClose, Close, Window, Ping, Hello and undecodable bytes, for ids of either parity, id 0, the largest id,
/// connections it opened itself, with random payload sizes and window increments, into either side of a pair that
/// carries one real connection. Receive never throws, what is buffered stays within the receive windows, the answers
/// queued stay within the limit, and the real connection keeps carrying bytes both ways. Runs for FUZZ_SECONDS
/// (default 5 s); a failure prints CsCheck's seed, which FUZZ_SEED replays.
/// </summary>
[Category("Fuzz")]
public sealed class TunnelFrameFuzzTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static readonly TunnelLimits Limits = new() { ReceiveWindow = 4096, MaxConnections = 8, MaxProtocolErrors = 20, DialTimeout = TimeSpan.FromSeconds(5) };

    /// <summary>Ids the fuzz frames name: never 2, the connection carrying the real traffic.</summary>
    private static readonly Gen<ulong> Ids = Gen.OneOf(
        Gen.OneOf(0UL, 1UL, 3UL, 4UL, 5UL, 6UL, 8UL, ulong.MaxValue, ulong.MaxValue - 1),
        Gen.ULong[9, 200],
        Gen.ULong).Select(id => id == 2 ? 3 : id);

    private static readonly Gen<ByteString> Payloads = Gen.OneOf(
        Gen.Const(ByteString.Empty),
        Gen.Int[1, 64].Select(n => ByteString.CopyFrom(new byte[n])),
        Gen.Int[4000, 4200].Select(n => ByteString.CopyFrom(new byte[n])));

    private static readonly Gen<Frame> Frames = Gen.OneOf(
        Gen.Select(Ids, Gen.UInt[0, 70000], (id, port) => new Frame { Open = new Open { ConnectionId = id, Port = port, Peer = "fuzz" } }),
        Gen.Select(Ids, Payloads, (id, payload) => new Frame { Data = new Data { ConnectionId = id, Payload = payload } }),
        Ids.Select(id => new Frame { HalfClose = new HalfClose { ConnectionId = id } }),
        Gen.Select(Ids, Gen.Int[-1, 8], (id, reason) => new Frame { Close = new Close { ConnectionId = id, Reason = (CloseReason)reason, Message = "fuzz" } }),
        Gen.Select(Ids, Gen.OneOf(Gen.UInt[0, 5000], Gen.UInt), (id, increment) => new Frame { Window = new Window { ConnectionId = id, Increment = increment } }),
        Gen.ULong.Select(id => new Frame { Ping = new Ping { Id = id } }),
        Gen.Const(new Frame { Hello = new Hello() }),
        Gen.Const(new Frame()));

    /// <summary>A frame, or bytes that may not decode at all (then nothing reaches the multiplexer, as gRPC would end the call).</summary>
    private static readonly Gen<(bool ToAgent, byte[] Wire)> Inputs = Gen.Select(
        Gen.Bool,
        Gen.OneOf(Frames.Select(f => f.ToByteArray()), Gen.Byte.Array[0, 40]),
        (toAgent, wire) => (toAgent, wire));

    [Test]
    public async Task RandomFrameSequences_NeverThrow_StayBounded_AndTheRealConnectionKeepsCarrying()
    {
        long sequences = 0, frames = 0, faults = 0;
        await Inputs.Array[1, 120].SampleAsync(
            async inputs =>
            {
                await using var pair = await TunnelPair.StartAsync(Limits);
                var (app, laptop) = await pair.OpenAsync();
                using (app)
                using (laptop)
                {
                    foreach (var (toAgent, wire) in inputs)
                    {
                        Frame frame;
                        try
                        {
                            frame = Frame.Parser.ParseFrom(wire);
                        }
                        catch (InvalidProtocolBufferException)
                        {
                            continue;
                        }

                        var side = toAgent ? pair.Agent : pair.Broker;
                        side.Receive(frame);
                        AssertBounded(pair.Agent);
                        AssertBounded(pair.Broker);
                    }

                    await AssertCarriesAsync(app, laptop);
                    Interlocked.Add(ref frames, inputs.Length);
                    Interlocked.Increment(ref sequences);
                    if (pair.Agent.ProtocolFault is not null || pair.Broker.ProtocolFault is not null)
                    {
                        Interlocked.Increment(ref faults);
                    }
                }
            },
            writeLine: TestContext.Out.WriteLine,
            seed: FuzzRun.Seed,
            time: FuzzRun.Seconds(5),
            threads: 1,
            print: inputs => string.Join(", ", inputs.Select(i => (i.ToAgent ? "agent<-" : "broker<-") + Convert.ToHexString(i.Wire))));

        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{sequences} sequences, {frames} frames, {faults} ended in a protocol fault; none threw, all stayed bounded, the real connection carried after each"));
    }

    private static void AssertBounded(TunnelMultiplexer side)
    {
        Assert.That(side.BufferedBytes, Is.LessThanOrEqualTo((long)Limits.MaxConnections * Limits.ReceiveWindow), "buffered bytes within the receive windows");
        Assert.That(side.OpenConnections, Is.LessThanOrEqualTo(Limits.MaxConnections), "connections within the limit");
        Assert.That(side.ControlQueued, Is.LessThanOrEqualTo(side.MaxControlQueued), "answers within the limit");
    }

    private static async Task AssertCarriesAsync(Socket app, Socket laptop)
    {
        await app.SendAsync("ping"u8.ToArray());
        Assert.That(await ReadAsync(laptop, 4), Is.EqualTo("ping"), "app to laptop");
        await laptop.SendAsync("pong"u8.ToArray());
        Assert.That(await ReadAsync(app, 4), Is.EqualTo("pong"), "laptop to app");
    }

    private static async Task<string> ReadAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        for (var got = 0; got < count;)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(got)).AsTask().WaitAsync(Timeout);
            if (read == 0)
            {
                break;
            }

            got += read;
        }

        return System.Text.Encoding.ASCII.GetString(buffer);
    }
}
