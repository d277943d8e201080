using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Raw lanes: a lane (protocol version 2) carried on a plain TCP connection to the tunnel port instead of a gRPC stream
/// over HTTP/2, offered by a broker whose tunnel port is plaintext (<c>Welcome.raw_lanes</c>). The connection starts
/// with <see cref="Preface"/> (which no HTTP/2 client sends: theirs starts <c>PRI *</c>), then carries records both
/// ways, each a 5-byte header — <see cref="FrameRecord"/> or <see cref="StatusRecord"/>, and the length (big-endian) of
/// what follows, at most <see cref="MaxRecordBytes"/> — and the body: a <c>Frame</c> as protobuf writes it, or (broker
/// to agent, last) the status that ends the lane: its code (4 bytes, big-endian) and detail (UTF-8). The frames and
/// their rules are the gRPC stream's: the agent's Hello carrying the lane token first, the broker's Welcome or the
/// status that refuses it, then any frames. No HTTP/2 or gRPC framing, HTTP/2 window or HTTP/2 writer queue sits between a lane's
/// frames and its socket.
/// </summary>
public static class RawLane
{
    /// <summary>A record holding a <c>Frame</c>.</summary>
    public const byte FrameRecord = 0;

    /// <summary>The broker's last record on a lane: the status it ends with (code, then detail).</summary>
    public const byte StatusRecord = 1;

    /// <summary>The size of a record's header: its kind and the length of its body.</summary>
    public const int HeaderBytes = 5;

    /// <summary>
    /// The largest record body either side accepts: a Data frame of the largest payload a broker offering raw lanes
    /// allows (<see cref="MaxData"/>) with room to spare, and any Hello the broker accepts. Below the 1 MiB a Kestrel
    /// connection buffers before it stops reading, so a whole record always fits.
    /// </summary>
    public const int MaxRecordBytes = 512 * 1024;

    /// <summary>The largest <c>max_data</c> with which a broker offers raw lanes (a Data frame must fit in one record).</summary>
    public const int MaxData = MaxRecordBytes - 1024;

    /// <summary>The longest status detail a broker sends.</summary>
    public const int MaxDetailBytes = 4096;

    private static readonly byte[] PrefaceBytes = Encoding.ASCII.GetBytes("SBXLANE1");

    /// <summary>What a raw lane's connection sends first: <c>SBXLANE1</c>.</summary>
    public static ReadOnlySpan<byte> Preface => PrefaceBytes;

    /// <summary>Writes a record's header — <paramref name="kind"/>, then <paramref name="length"/> big-endian — into the first <see cref="HeaderBytes"/> of <paramref name="destination"/>.</summary>
    public static void WriteHeader(Span<byte> destination, byte kind, int length)
    {
        destination[0] = kind;
        BinaryPrimitives.WriteInt32BigEndian(destination[1..HeaderBytes], length);
    }

    /// <summary>
    /// Opens a raw lane's plain TCP connection to the broker at <paramref name="address"/> (<c>HOST:PORT</c>, the tunnel
    /// port the agent's gRPC channel reaches: <c>--server</c> or the port-forward's local end), without delay on small writes.
    /// </summary>
    public static async Task<Stream> ConnectAsync(string address, CancellationToken cancellationToken)
    {
        var uri = new Uri($"tcp://{address}");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(uri.IdnHost, uri.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether <paramref name="start"/> (the first bytes a connection sent) begins with <see cref="Preface"/>: true or
    /// false once it is known, null while fewer bytes than the preface's came and they match so far.
    /// </summary>
    public static bool? StartsWithPreface(ReadOnlySequence<byte> start)
    {
        Span<byte> first = stackalloc byte[PrefaceBytes.Length];
        var length = (int)Math.Min(start.Length, first.Length);
        start.Slice(0, length).CopyTo(first);
        if (!first[..length].SequenceEqual(PrefaceBytes.AsSpan(0, length)))
        {
            return false;
        }

        return length == PrefaceBytes.Length ? true : null;
    }
}
