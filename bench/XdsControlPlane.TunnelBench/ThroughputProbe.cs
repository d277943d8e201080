using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace XdsControlPlane.TunnelBench;

/// <summary>Which way the bytes of a throughput measurement go.</summary>
internal enum Direction
{
    /// <summary>The client sends, the laptop's service reads (an upload to the laptop).</summary>
    ClientToLaptop,

    /// <summary>The laptop's service sends, the client reads.</summary>
    LaptopToClient,
}

/// <summary>Bulk transfers to or from the <see cref="LaptopService"/> at an address (its own, or the broker's for it).</summary>
internal static class ThroughputProbe
{
    private const int BufferSize = 64 * 1024;

    /// <summary>
    /// Moves <paramref name="bytesEach"/> bytes over each of <paramref name="connections"/> connections at once in
    /// <paramref name="direction"/>; returns the aggregate rate in MB/s (10^6 bytes), from the first connect to the last byte.
    /// </summary>
    public static async Task<double> MeasureAsync(IPEndPoint target, Direction direction, int connections, long bytesEach, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var transfers = Enumerable.Range(0, connections).Select(_ => direction == Direction.ClientToLaptop
            ? UploadAsync(target, bytesEach, cancellationToken)
            : DownloadAsync(target, bytesEach, cancellationToken));
        await Task.WhenAll(transfers);
        return connections * bytesEach / 1e6 / clock.Elapsed.TotalSeconds;
    }

    private static async Task UploadAsync(IPEndPoint target, long bytes, CancellationToken cancellationToken)
    {
        using var socket = await ConnectAsync(target, LaptopMode.Sink, cancellationToken);
        var buffer = new byte[BufferSize];
        Random.Shared.NextBytes(buffer);
        for (var remaining = bytes; remaining > 0;)
        {
            var size = (int)Math.Min(buffer.Length, remaining);
            await socket.SendAsync(buffer.AsMemory(0, size), SocketFlags.None, cancellationToken);
            remaining -= size;
        }

        socket.Shutdown(SocketShutdown.Send);
        if (!await LaptopService.ReceiveExactlyAsync(socket, buffer.AsMemory(0, 8), cancellationToken) || BinaryPrimitives.ReadInt64LittleEndian(buffer) != bytes)
        {
            throw new IOException($"the laptop did not receive all {bytes} bytes");
        }
    }

    private static async Task DownloadAsync(IPEndPoint target, long bytes, CancellationToken cancellationToken)
    {
        using var socket = await ConnectAsync(target, LaptopMode.Source, cancellationToken);
        var buffer = new byte[BufferSize];
        BinaryPrimitives.WriteInt64LittleEndian(buffer, bytes);
        await socket.SendAsync(buffer.AsMemory(0, 8), SocketFlags.None, cancellationToken);
        long total = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken)) > 0)
        {
            total += read;
        }

        if (total != bytes)
        {
            throw new IOException($"received {total} of {bytes} bytes from the laptop");
        }
    }

    /// <summary>A connection to <paramref name="target"/> that has told the laptop's service its <paramref name="mode"/>.</summary>
    public static async Task<Socket> ConnectAsync(IPEndPoint target, LaptopMode mode, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(target, cancellationToken);
            await socket.SendAsync(new[] { (byte)mode }, SocketFlags.None, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
