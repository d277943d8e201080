using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace XdsControlPlane.TunnelBench;

/// <summary>
/// The service on the "laptop": a loopback TCP server that both the direct baseline and the tunnel reach. The first
/// byte a client sends picks what the connection does (see <see cref="LaptopMode"/>).
/// </summary>
internal sealed class LaptopService : IAsyncDisposable
{
    /// <summary>The size of a request and of its response in echo mode.</summary>
    public const int EchoSize = 1024;

    private const int BufferSize = 64 * 1024;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private int _open;

    public LaptopService()
    {
        _listener.Start(backlog: 4096);
        _accepting = AcceptAsync(_stopping.Token);
    }

    /// <summary>Where it listens.</summary>
    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Connections it holds now.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stopping.Dispose();
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServeAsync(socket, cancellationToken);
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _open);
        try
        {
            socket.NoDelay = true;
            var mode = new byte[1];
            if (await socket.ReceiveAsync(mode, SocketFlags.None, cancellationToken) == 0)
            {
                return;
            }

            switch ((LaptopMode)mode[0])
            {
                case LaptopMode.Sink:
                    await SinkAsync(socket, cancellationToken);
                    break;
                case LaptopMode.Source:
                    await SourceAsync(socket, cancellationToken);
                    break;
                case LaptopMode.Echo:
                    await EchoAsync(socket, cancellationToken);
                    break;
                case LaptopMode.Idle:
                    await IdleAsync(socket, cancellationToken);
                    break;
                default:
                    break;
            }
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the run is over.
        }
        finally
        {
            socket.Dispose();
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>Reads until the client's half-close, then answers the byte count (8 bytes, little-endian).</summary>
    private static async Task SinkAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        long total = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            total += read;
        }

        BinaryPrimitives.WriteInt64LittleEndian(buffer, total);
        await socket.SendAsync(buffer.AsMemory(0, 8), SocketFlags.None, cancellationToken);
        socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Reads a length (8 bytes, little-endian), sends that many bytes, then half-closes.</summary>
    private static async Task SourceAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferSize];
        await ReceiveExactlyAsync(socket, buffer.AsMemory(0, 8), cancellationToken);
        var remaining = BinaryPrimitives.ReadInt64LittleEndian(buffer);
        Random.Shared.NextBytes(buffer);
        while (remaining > 0)
        {
            var size = (int)Math.Min(buffer.Length, remaining);
            await socket.SendAsync(buffer.AsMemory(0, size), SocketFlags.None, cancellationToken);
            remaining -= size;
        }

        socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Answers every <see cref="EchoSize"/>-byte request with the same bytes until the client half-closes.</summary>
    private static async Task EchoAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[EchoSize];
        while (await ReceiveExactlyAsync(socket, buffer, cancellationToken))
        {
            await socket.SendAsync(buffer, SocketFlags.None, cancellationToken);
        }
    }

    /// <summary>Acknowledges with one byte (the connection is up end to end), then holds it until the client closes.</summary>
    private static async Task IdleAsync(Socket socket, CancellationToken cancellationToken)
    {
        await socket.SendAsync(new byte[] { 1 }, SocketFlags.None, cancellationToken);
        await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken);
        var rest = new byte[1];
        while (await socket.ReceiveAsync(rest, SocketFlags.None, cancellationToken) > 0)
        {
        }
    }

    /// <summary>Fills <paramref name="buffer"/>; false when the peer half-closed before sending anything.</summary>
    public static async Task<bool> ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer[filled..], SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                return filled == 0 ? false : throw new IOException($"the peer closed after {filled} of {buffer.Length} bytes");
            }

            filled += read;
        }

        return true;
    }
}

/// <summary>What a connection to the <see cref="LaptopService"/> does, chosen by its first byte.</summary>
internal enum LaptopMode : byte
{
    /// <summary>Client → laptop: the service reads everything and answers the count.</summary>
    Sink = (byte)'U',

    /// <summary>Laptop → client: the service sends as many bytes as asked.</summary>
    Source = (byte)'D',

    /// <summary>1 KiB request, 1 KiB response, repeated.</summary>
    Echo = (byte)'E',

    /// <summary>One acknowledgement byte, then nothing until the client closes.</summary>
    Idle = (byte)'I',
}
