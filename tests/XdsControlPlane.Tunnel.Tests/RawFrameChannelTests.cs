using System.IO.Pipelines;
using CsCheck;
using XdsControlPlane.Testing;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel.Tests;

/// <summary>
/// <see cref="RawFrameChannel"/> over a real loopback TCP connection, the agent's way (pipes over a NetworkStream):
/// frames arrive whole and in order, Data payloads byte for byte, a burst written with BufferHint arrives once a write
/// without it flushes, the broker's status record ends the peer's reading (OK as the end, anything else thrown as the
/// status), and the connection ending between records is the end, inside one an IOException.
/// </summary>
public sealed class RawFrameChannelTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Test]
    public async Task Frames_ArriveWholeAndInOrder_DataByteForByte_BurstsFlushedByTheLastWrite()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var (agentStream, brokerStream) = await ConnectedAsync(cancel.Token);
        await using var _ = agentStream;
        await using var __ = brokerStream;
        var agent = Channel(agentStream, statusExpected: true);
        var broker = Channel(brokerStream, statusExpected: false);
        var payloads = Enumerable.Range(0, 40).Select(i => Bytes(i * 1637 % 65504 + 1, i)).ToArray();

        await agent.WriteAsync(new Frame { Hello = new Hello { Namespace = "shop", LocalWorkload = "w", SessionId = "s" } }, cancel.Token);
        agent.WriteOptions = new WriteOptions(WriteFlags.BufferHint);
        foreach (var (payload, i) in payloads.Select((p, i) => (p, i)))
        {
            if (i == payloads.Length - 1)
            {
                agent.WriteOptions = null;
            }

            await agent.WriteAsync(new Frame { Data = new Data { ConnectionId = (ulong)i + 1, Payload = ByteString.CopyFrom(payload) } }, cancel.Token);
        }

        Assert.That(await broker.MoveNext(cancel.Token), Is.True);
        Assert.That(broker.Current.Hello.SessionId, Is.EqualTo("s"));
        for (var i = 0; i < payloads.Length; i++)
        {
            Assert.That(await broker.MoveNext(cancel.Token), Is.True, $"frame {i}");
            Assert.That((broker.Current.Data.ConnectionId, broker.Current.Data.Payload.ToByteArray()), Is.EqualTo(((ulong)i + 1, payloads[i])), $"frame {i}");
        }
    }

    [Test]
    public async Task StatusRecord_OkEndsTheReading_AnotherIsThrownAsTheStatus()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        foreach (var status in new[] { Status.DefaultSuccess, new Status(StatusCode.PermissionDenied, "Hello.lane_token: no") })
        {
            var (agentStream, brokerStream) = await ConnectedAsync(cancel.Token);
            await using var _ = agentStream;
            await using var __ = brokerStream;
            var agent = Channel(agentStream, statusExpected: true);
            var broker = Channel(brokerStream, statusExpected: false);
            await broker.WriteAsync(new Frame { Welcome = new Welcome { Version = 2 } }, cancel.Token);
            await broker.WriteStatusAsync(status, cancel.Token);

            Assert.That(await agent.MoveNext(cancel.Token), Is.True);
            Assert.That(agent.Current.Welcome.Version, Is.EqualTo(2));
            if (status.StatusCode == StatusCode.OK)
            {
                Assert.That(await agent.MoveNext(cancel.Token), Is.False, "OK: the end");
            }
            else
            {
                var thrown = Assert.ThrowsAsync<RpcException>(() => agent.MoveNext(cancel.Token));
                Assert.That((thrown!.StatusCode, thrown.Status.Detail), Is.EqualTo((status.StatusCode, status.Detail)));
            }
        }
    }

    [Test]
    public async Task ConnectionEnds_BetweenRecordsIsTheEnd_InsideOneAnIOException_AStatusFromTheAgentIsRefused()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var (agentStream, brokerStream) = await ConnectedAsync(cancel.Token);
        await using (agentStream)
        {
            await using var _ = brokerStream;
            var broker = Channel(brokerStream, statusExpected: false);
            await agentStream.WriteAsync(new byte[] { RawLane.FrameRecord, 0, 0, 0, 2, 0x08, 0x01 }, cancel.Token);
            await agentStream.WriteAsync(new byte[] { RawLane.FrameRecord, 0, 0, 0, 9, 1 }, cancel.Token);
            agentStream.Socket.Shutdown(SocketShutdown.Send);
            Assert.That(await broker.MoveNext(cancel.Token), Is.True);
            Assert.ThrowsAsync<IOException>(() => broker.MoveNext(cancel.Token), "ended inside the second record");
        }

        (agentStream, brokerStream) = await ConnectedAsync(cancel.Token);
        await using (agentStream)
        {
            await using var _ = brokerStream;
            var broker = Channel(brokerStream, statusExpected: false);
            agentStream.Socket.Shutdown(SocketShutdown.Send);
            Assert.That(await broker.MoveNext(cancel.Token), Is.False, "nothing at all: the end");
        }

        (agentStream, brokerStream) = await ConnectedAsync(cancel.Token);
        await using (agentStream)
        {
            await using var _ = brokerStream;
            var broker = Channel(brokerStream, statusExpected: false);
            await agentStream.WriteAsync(new byte[] { RawLane.StatusRecord, 0, 0, 0, 4, 0, 0, 0, 0 }, cancel.Token);
            var thrown = Assert.ThrowsAsync<RpcException>(() => broker.MoveNext(cancel.Token));
            Assert.That((thrown!.StatusCode, thrown.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "raw lane: a record of kind 1 (only 0, a frame); ending the lane")));
        }
    }

    /// <summary>
    /// Property-based (CsCheck): whatever bytes follow the preface — well-formed frame records, headers claiming any kind
    /// and length, truncated records, status records, random bytes — reading them, in pieces of any size, yields frames
    /// until the end, or stops with an <see cref="RpcException"/> of <c>INVALID_ARGUMENT</c> (the broker's side) or a
    /// status the records carried (the agent's side), or an <see cref="IOException"/> for a record cut off; never another
    /// exception, never a hang.
    /// </summary>
    [Test]
    [Category("Fuzz")]
    public void RandomRecords_YieldFramesOrEndWithTheNamedProblem_NeverAnotherException()
    {
        var frames = Gen.OneOf(
            Gen.Const(new Frame { Ping = new Ping { Id = 7 } }),
            Gen.Int[0, 70000].Select(n => new Frame { Data = new Data { ConnectionId = 3, Payload = ByteString.CopyFrom(new byte[n]) } }));
        var records = Gen.OneOf(
            frames.Select(f => Record(RawLane.FrameRecord, f.ToByteArray())),
            Gen.Byte.Array[0, 40].Select(body => Record(RawLane.FrameRecord, body)),
            Gen.Select(Gen.Int[-1, 70], Gen.String[0, 20]).Select(t => Record(RawLane.StatusRecord, [.. BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(t.Item1)), .. System.Text.Encoding.UTF8.GetBytes(t.Item2)])),
            Gen.Select(Gen.Byte, Gen.UInt).Select(h => Header(h.Item1, h.Item2)),
            Gen.Byte.Array[1, 12]);
        long inputs = 0, ended = 0;
        Gen.Select(records.Array[0, 12], Gen.Bool, Gen.Int[1, 5000]).Sample(
            input =>
            {
                var (parts, statusExpected, piece) = input;
                var bytes = parts.SelectMany(p => p).ToArray();
                FuzzRun.Watched(() => Convert.ToHexString(bytes), () => ReadAllAsync(bytes, statusExpected, piece).GetAwaiter().GetResult());
                Interlocked.Increment(ref inputs);
            },
            seed: FuzzRun.Seed,
            time: FuzzRun.Seconds(3),
            threads: 1,
            print: input => $"statusExpected {input.Item2}, pieces of {input.Item3}: {Convert.ToHexString(input.Item1.SelectMany(p => p).ToArray())}");
        TestContext.Out.WriteLine($"{inputs} inputs read; {ended} ended early");

        async Task ReadAllAsync(byte[] bytes, bool statusExpected, int piece)
        {
            // Everything written before the reading starts: no pause at the pipe's default 64 KiB.
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
            var channel = new RawFrameChannel(pipe.Reader, new Pipe().Writer, statusExpected);
            for (var at = 0; at < bytes.Length; at += piece)
            {
                await pipe.Writer.WriteAsync(bytes.AsMemory(at, Math.Min(piece, bytes.Length - at)));
            }

            await pipe.Writer.CompleteAsync();
            try
            {
                while (await channel.MoveNext(CancellationToken.None))
                {
                    Assert.That(channel.Current, Is.Not.Null);
                }
            }
            catch (RpcException e)
            {
                Interlocked.Increment(ref ended);
                Assert.That(statusExpected || e.StatusCode == StatusCode.InvalidArgument, Is.True, $"the broker's side ends with INVALID_ARGUMENT, not {e.Status}");
            }
            catch (IOException)
            {
                Interlocked.Increment(ref ended);
            }
        }
    }

    private static byte[] Header(byte kind, uint length)
    {
        var header = new byte[RawLane.HeaderBytes];
        RawLane.WriteHeader(header, kind, unchecked((int)length));
        return header;
    }

    private static byte[] Record(byte kind, byte[] body) => [.. Header(kind, (uint)body.Length), .. body];

    private static RawFrameChannel Channel(NetworkStream stream, bool statusExpected) => new(
        PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, leaveOpen: true)),
        PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 65536, leaveOpen: true)),
        statusExpected);

    private static async Task<(NetworkStream Agent, NetworkStream Broker)> ConnectedAsync(CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var agent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await agent.ConnectAsync(listener.LocalEndPoint!, cancellationToken);
        var broker = await listener.AcceptAsync(cancellationToken);
        return (new NetworkStream(agent, ownsSocket: true), new NetworkStream(broker, ownsSocket: true));
    }

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
