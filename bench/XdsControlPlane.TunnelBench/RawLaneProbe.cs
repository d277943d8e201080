using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace XdsControlPlane.TunnelBench;

/// <summary>
/// A ceiling probe, not a tunnel: what the tunnel's three hops could move if the broker and the agent exchanged frames
/// over plain TCP connections ("raw lanes") instead of gRPC streams over HTTP/2. Two relays in this process: the
/// entrance accepts connections on <see cref="EndPoint"/> (the broker's side) and spreads them over
/// <c>lanes</c> loopback TCP connections to the exit (the agent's side), which dials the target for each new connection.
/// Each frame is an 8-byte header (connection id, payload length; length 0 is a half-close) and the payload, sent with
/// one gathered <c>send</c> straight from the buffer the connection was read into; the exit reads the payload into a
/// pooled buffer and sends it to its socket at once when nothing of that connection is queued. It has what the tunnel
/// must keep (connections multiplexed on a few streams, half-closes passed on, a connection whose reader is slow never
/// holding up the lane) and leaves out what the tunnel must have and a probe need not: per-connection flow control
/// (queues here are unbounded), the Hello and lane token, limits and refusals, TLS. It measures the transport, so its
/// figure is an upper bound for a raw-lane tunnel on the same machine, not a promise.
/// </summary>
internal sealed class RawLaneProbe : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly List<ProbeLane> _entranceLanes;
    private readonly List<ProbeLane> _exitLanes;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private RawLaneProbe(Socket listener, List<ProbeLane> entranceLanes, List<ProbeLane> exitLanes)
    {
        _listener = listener;
        _entranceLanes = entranceLanes;
        _exitLanes = exitLanes;
        EndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _accepting = AcceptAsync(_stop.Token);
    }

    /// <summary>Where the entrance listens: a connection there reaches the target through the lanes.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Starts both relays, <paramref name="lanes"/> TCP connections between them, forwarding to <paramref name="target"/>.</summary>
    public static async Task<RawLaneProbe> StartAsync(IPEndPoint target, int lanes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        using var laneListener = Listen(lanes);
        var entranceLanes = new List<ProbeLane>();
        var exitLanes = new List<ProbeLane>();
        for (var i = 0; i < lanes; i++)
        {
            var exit = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await exit.ConnectAsync(laneListener.LocalEndPoint!, cancellationToken);
            var entrance = await laneListener.AcceptAsync(cancellationToken);
            entrance.NoDelay = true;
            entranceLanes.Add(new ProbeLane(entrance, dialTarget: null));
            exitLanes.Add(new ProbeLane(exit, target));
        }

        return new RawLaneProbe(Listen(512), entranceLanes, exitLanes);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        foreach (var lane in _entranceLanes.Concat(_exitLanes))
        {
            lane.Dispose();
        }

        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    private static Socket Listen(int backlog)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(backlog);
        return socket;
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        uint next = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var client = await _listener.AcceptAsync(cancellationToken);
            client.NoDelay = true;
            var id = ++next;
            _entranceLanes[(int)(id % (uint)_entranceLanes.Count)].Carry(id, client);
        }
    }
}

/// <summary>One lane of <see cref="RawLaneProbe"/>, at either end: writes the frames of its connections, reads the peer's.</summary>
internal sealed class ProbeLane : IDisposable
{
    private const int HeaderSize = 8;
    private const int MaxPayload = 64 * 1024;

    private readonly Socket _lane;
    private readonly IPEndPoint? _dialTarget;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly ConcurrentDictionary<uint, ProbeConnection> _connections = new();
    private readonly CancellationTokenSource _stop = new();

    /// <param name="lane">The lane's TCP connection.</param>
    /// <param name="dialTarget">The exit's target, dialled for each connection the peer starts; null at the entrance, which starts them.</param>
    public ProbeLane(Socket lane, IPEndPoint? dialTarget)
    {
        _lane = lane;
        _dialTarget = dialTarget;
        _ = ReadFramesAsync(_stop.Token);
    }

    /// <summary>Carries <paramref name="socket"/> as connection <paramref name="id"/> on this lane.</summary>
    public void Carry(uint id, Socket socket)
    {
        var connection = new ProbeConnection(socket, () => _connections.TryRemove(id, out _));
        _connections[id] = connection;
        _ = PumpAsync(id, connection, _stop.Token);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _lane.Dispose();
        foreach (var connection in _connections.Values)
        {
            connection.Dispose();
        }
    }

    /// <summary>The connection's bytes to the lane, each read as one frame, written by the thread that read it.</summary>
    private async Task PumpAsync(uint id, ProbeConnection connection, CancellationToken cancellationToken)
    {
        var header = new byte[HeaderSize];
        var segments = new ArraySegment<byte>[2];
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(MaxPayload);
                try
                {
                    var read = await connection.Socket.ReceiveAsync(buffer.AsMemory(0, MaxPayload), SocketFlags.None, cancellationToken);
                    await _writer.WaitAsync(cancellationToken);
                    try
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(header, id);
                        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), read);
                        segments[0] = header;
                        segments[1] = new ArraySegment<byte>(buffer, 0, read);
                        await SendAllAsync(segments, HeaderSize + read);
                    }
                    finally
                    {
                        _writer.Release();
                    }

                    if (read == 0)
                    {
                        return;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // iperf3 reset the connection at the end of a test: the peer's side ends too (unless the probe stops).
            await TrySendEndAsync(id, header, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The probe stops.
        }
        finally
        {
            connection.OneWayDone();
        }
    }

    private async Task TrySendEndAsync(uint id, byte[] header, CancellationToken cancellationToken)
    {
        try
        {
            await _writer.WaitAsync(cancellationToken);
            try
            {
                BinaryPrimitives.WriteUInt32LittleEndian(header, id);
                BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), 0);
                await _lane.SendAsync(header, SocketFlags.None, cancellationToken);
            }
            finally
            {
                _writer.Release();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The probe stops.
        }
    }

    private async Task SendAllAsync(ArraySegment<byte>[] segments, int total)
    {
        var sent = await _lane.SendAsync(segments, SocketFlags.None);
        if (sent == total)
        {
            return;
        }

        // A partial send (the lane's socket buffer filled): send the rest piece by piece.
        var rest = segments.SelectMany(s => s).Skip(sent).ToArray();
        var offset = 0;
        while (offset < rest.Length)
        {
            offset += await _lane.SendAsync(rest.AsMemory(offset), SocketFlags.None);
        }
    }

    /// <summary>The peer's frames to their connections' sockets.</summary>
    private async Task ReadFramesAsync(CancellationToken cancellationToken)
    {
        var header = new byte[HeaderSize];
        try
        {
            while (await ReadExactlyAsync(header, cancellationToken))
            {
                var id = BinaryPrimitives.ReadUInt32LittleEndian(header);
                var length = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
                if (length is < 0 or > MaxPayload)
                {
                    throw new InvalidDataException($"frame of connection {id} claims {length} bytes");
                }

                if (!_connections.TryGetValue(id, out var connection))
                {
                    if (_dialTarget is null || length == 0)
                    {
                        // A connection that is gone (at the entrance; at the exit, a half-close after it closed): drop what still comes for it.
                        await SkipAsync(length, cancellationToken);
                        continue;
                    }

                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    await socket.ConnectAsync(_dialTarget, cancellationToken);
                    Carry(id, socket);
                    connection = _connections[id];
                }

                if (length == 0)
                {
                    connection.Deliver(null, 0);
                    continue;
                }

                var payload = ArrayPool<byte>.Shared.Rent(length);
                if (!await ReadExactlyAsync(payload.AsMemory(0, length), cancellationToken))
                {
                    ArrayPool<byte>.Shared.Return(payload);
                    return;
                }

                connection.Deliver(payload, length);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidDataException)
        {
            // The probe stops.
        }
    }

    private async Task SkipAsync(int length, CancellationToken cancellationToken)
    {
        if (length == 0)
        {
            return;
        }

        var scratch = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            await ReadExactlyAsync(scratch.AsMemory(0, length), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private async Task<bool> ReadExactlyAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (!buffer.IsEmpty)
        {
            var read = await _lane.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                return false;
            }

            buffer = buffer[read..];
        }

        return true;
    }
}

/// <summary>
/// One relayed connection's socket and what waits for it: a payload goes to the socket at once (a non-blocking send)
/// while nothing is queued, else into the connection's queue, which its own writer drains — so a slow reader never
/// holds up the lane. Unbounded: the probe has no flow control.
/// </summary>
internal sealed class ProbeConnection : IDisposable
{
    private readonly Channel<(byte[]? Payload, int Length, bool Pooled)> _queue = Channel.CreateUnbounded<(byte[]?, int, bool)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Action _closed;
    private int _queued;
    private int _waysDone;

    /// <param name="socket">The relayed connection's socket.</param>
    /// <param name="closed">Called once both ways are done and the socket is closed.</param>
    public ProbeConnection(Socket socket, Action closed)
    {
        Socket = socket;
        Socket.Blocking = false;
        _closed = closed;
        _ = WriteQueuedAsync();
    }

    public Socket Socket { get; }

    /// <summary>Sends <paramref name="length"/> bytes of <paramref name="payload"/> (a pooled buffer, returned here), or half-closes when it is null.</summary>
    public void Deliver(byte[]? payload, int length)
    {
        if (payload is not null && Volatile.Read(ref _queued) == 0)
        {
            var sent = Socket.Send(payload, 0, length, SocketFlags.None, out var error);
            if (error == SocketError.Success && sent == length)
            {
                ArrayPool<byte>.Shared.Return(payload);
                return;
            }

            if (error is not (SocketError.Success or SocketError.WouldBlock))
            {
                ArrayPool<byte>.Shared.Return(payload);
                return;
            }

            var taken = error == SocketError.Success ? sent : 0;
            var rest = payload.AsSpan(taken, length - taken).ToArray();
            ArrayPool<byte>.Shared.Return(payload);
            Interlocked.Increment(ref _queued);
            _queue.Writer.TryWrite((rest, rest.Length, false));
            return;
        }

        Interlocked.Increment(ref _queued);
        _queue.Writer.TryWrite((payload, length, payload is not null));
    }

    /// <summary>One way of the connection is over (its socket read to the end, or the peer's end written); after both the socket is closed.</summary>
    public void OneWayDone()
    {
        if (Interlocked.Increment(ref _waysDone) == 2)
        {
            Dispose();
            _closed();
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        Socket.Dispose();
    }

    private async Task WriteQueuedAsync()
    {
        try
        {
            await foreach (var (payload, length, pooled) in _queue.Reader.ReadAllAsync())
            {
                if (payload is null)
                {
                    Socket.Shutdown(SocketShutdown.Send);
                    Interlocked.Decrement(ref _queued);
                    OneWayDone();
                    return;
                }

                var offset = 0;
                while (offset < length)
                {
                    offset += await Socket.SendAsync(payload.AsMemory(offset, length - offset), SocketFlags.None);
                }

                if (pooled)
                {
                    ArrayPool<byte>.Shared.Return(payload);
                }

                Interlocked.Decrement(ref _queued);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The connection was reset (iperf3 ends its streams that way) or the probe stops.
            OneWayDone();
        }
    }
}
