using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel.Tests;

/// <summary>
/// <see cref="BurstCork"/> on a real loopback TCP connection, reading the kernel's own <c>TCP_CORK</c> flag: a burst corks
/// the socket, and the cork comes off right after the send that completes the burst — also when HttpClient sends it after
/// the writer said the burst ended —, never later; a lone small frame does not cork at all.
/// </summary>
public sealed class BurstCorkTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [SetUp]
    public void LinuxOnly()
    {
        if (!BurstCork.Supported)
        {
            Assert.Ignore("TCP_CORK is Linux only; elsewhere the cork does nothing");
        }
    }

    [Test]
    public async Task End_WhenTheSocketAlreadyTookTheBurst_UncorksAtOnce()
    {
        var (cork, stream, client, peer) = await ConnectAsync();
        using (peer)
        await using (stream)
        {
            cork.Begin();
            await stream.WriteAsync(new byte[100]);
            Assert.That(Corked(client), Is.True, "corked while the burst is written");

            cork.End(100);
            Assert.Multiple(() =>
            {
                Assert.That(Corked(client), Is.False, "uncorked once the burst's bytes were sent");
                Assert.That(cork.IsCorked, Is.False);
            });
            Assert.That(await ReceiveAsync(peer, 100), Is.EqualTo(100));
        }
    }

    [Test]
    public async Task End_BeforeTheBurstWasSent_UncorksRightAfterItsLastSend()
    {
        var (cork, stream, client, peer) = await ConnectAsync();
        using (peer)
        await using (stream)
        {
            // As HttpClient does: the writer's write returns when the frame is buffered; the send comes later.
            cork.Begin();
            cork.End(100);
            Assert.That(Corked(client), Is.True, "nothing of the burst was sent yet");

            await stream.WriteAsync(new byte[60]);
            Assert.That(Corked(client), Is.True, "part of the burst was sent");

            await stream.WriteAsync(new byte[40]);
            Assert.That(Corked(client), Is.False, "the send that completed the burst let it go");
            Assert.That(await ReceiveAsync(peer, 100), Is.EqualTo(100));
        }
    }

    [Test]
    public async Task Writer_LargeDataFrameCorksUntilSent_ASmallOneAloneDoesNot()
    {
        var (cork, stream, client, peer) = await ConnectAsync();
        using (peer)
        await using (stream)
        {
            var small = DataFrame(1024);
            cork.BeforeWrite(small, more: false);
            cork.AfterWrite(small, more: false);
            Assert.That((cork.Bursts, Corked(client)), Is.EqualTo((0L, false)), "a lone 1 KiB frame is not held back");

            var large = DataFrame(TunnelLimits.DefaultMaxData);
            cork.BeforeWrite(large, more: false);
            Assert.That((cork.Bursts, Corked(client)), Is.EqualTo((1L, true)), "a 64 KiB frame (four HTTP/2 frames) is corked");
            cork.AfterWrite(large, more: false);
            Assert.That(Corked(client), Is.True, "its bytes have not reached the socket yet");

            // HTTP/2 framing adds bytes: its sends of 16 KiB and a bit each.
            var wire = new byte[large.CalculateSize() + 5 + (4 * 9)];
            for (var offset = 0; offset < wire.Length; offset += 16 * 1024 + 9)
            {
                await stream.WriteAsync(wire.AsMemory(offset, Math.Min(16 * 1024 + 9, wire.Length - offset)));
            }

            Assert.That(Corked(client), Is.False, "uncorked after the frame's last send");
            Assert.That(await ReceiveAsync(peer, wire.Length), Is.EqualTo(wire.Length));
        }
    }

    [Test]
    public async Task WriterStopped_MidBurst_Uncorks()
    {
        var (cork, stream, client, peer) = await ConnectAsync();
        using (peer)
        await using (stream)
        {
            var large = DataFrame(TunnelLimits.DefaultMaxData);
            cork.BeforeWrite(large, more: true);
            await stream.WriteAsync(new byte[10]);
            Assert.That(Corked(client), Is.True);

            cork.WriterStopped();
            Assert.That(Corked(client), Is.False, "a writer that stopped leaves nothing held back");
            Assert.That(await ReceiveAsync(peer, 10), Is.EqualTo(10));
        }
    }

    [Test]
    public async Task Read_ASmallRead_TakesABlockFromTheSocket_AndServesTheNextReadsFromIt()
    {
        var (_, stream, client, peer) = await ConnectAsync();
        using (peer)
        await using (stream)
        {
            // 256 KiB waiting in the kernel, read as HttpClient reads its HTTP/2 connection: 16 KiB at a time.
            var sent = Enumerable.Range(0, 256 * 1024).Select(i => (byte)(i * 7)).ToArray();
            client.ReceiveBufferSize = 1024 * 1024;
            await peer.SendAsync(sent.AsMemory()).AsTask().WaitAsync(Timeout);
            await TunnelMultiplexerTests.Eventually(() => client.Available == sent.Length, "every byte sent to be in the socket");

            var received = new byte[sent.Length];
            var got = await stream.ReadAsync(received.AsMemory(0, 16 * 1024)).AsTask().WaitAsync(Timeout);
            Assert.That((got, client.Available), Is.EqualTo((16 * 1024, sent.Length - (64 * 1024))), "the first read took a 64 KiB block from the socket");

            for (var read = 1; read < 4; read++)
            {
                got += await stream.ReadAsync(received.AsMemory(got, 16 * 1024)).AsTask().WaitAsync(Timeout);
            }

            Assert.That((got, client.Available), Is.EqualTo((64 * 1024, sent.Length - (64 * 1024))), "three more reads came from the block, not the socket");
            Assert.That(await stream.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(Timeout), Is.Zero, "a zero-byte read completes: data is waiting");
            while (got < sent.Length)
            {
                got += await stream.ReadAsync(received.AsMemory(got, Math.Min(16 * 1024, sent.Length - got))).AsTask().WaitAsync(Timeout);
            }

            Assert.That(received, Is.EqualTo(sent), "every byte, in order");
            Assert.That(((CorkedSocketStream)stream).SocketReads, Is.EqualTo(4), "256 KiB in four socket reads instead of sixteen");
        }
    }

    [Test]
    public async Task Read_AReadOfABlockOrMore_GoesToTheSocketDirectly_AndTheEndOfTheStreamIsZero()
    {
        var (_, stream, client, peer) = await ConnectAsync();
        using (peer)
        await using (stream)
        {
            var sent = new byte[100 * 1024];
            await peer.SendAsync(sent.AsMemory()).AsTask().WaitAsync(Timeout);
            peer.Shutdown(SocketShutdown.Send);
            var received = new byte[128 * 1024];
            var got = 0;
            int read;
            while ((read = await stream.ReadAsync(received.AsMemory(got)).AsTask().WaitAsync(Timeout)) > 0)
            {
                got += read;
            }

            Assert.That(got, Is.EqualTo(sent.Length));
        }
    }

    private static Frame DataFrame(int bytes) => new() { Data = new Data { ConnectionId = 1, Payload = ByteString.CopyFrom(new byte[bytes]) } };

    /// <summary>The kernel's TCP_CORK flag of <paramref name="socket"/>.</summary>
    private static bool Corked(Socket socket)
    {
        var value = new byte[4];
        socket.GetRawSocketOption(6, 3, value);
        return BitConverter.ToInt32(value) != 0;
    }

    private static async Task<(BurstCork Cork, Stream Stream, Socket Client, Socket Peer)> ConnectAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint).WaitAsync(Timeout);
        var peer = await listener.AcceptSocketAsync().WaitAsync(Timeout);
        var cork = new BurstCork();
        return (cork, cork.Attach(client), client, peer);
    }

    private static async Task<int> ReceiveAsync(Socket peer, int bytes)
    {
        var buffer = new byte[bytes];
        var got = 0;
        while (got < bytes)
        {
            var read = await peer.ReceiveAsync(buffer.AsMemory(got)).AsTask().WaitAsync(Timeout);
            if (read == 0)
            {
                break;
            }

            got += read;
        }

        return got;
    }
}
