using System.Collections.Concurrent;
using System.Net.Sockets;
using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Many TCP connections over one tunnel stream, for either side. Frames the caller reads from the stream go to
/// <see cref="Receive"/>; frames to send come out of <see cref="WriteFramesAsync(Func{Frame, bool, CancellationToken, Task}, CancellationToken)"/>, one writer for the stream.
/// Each connection has a send window (bytes the peer still accepts) and a receive window: a connection reads from
/// its socket only while the peer has granted room, and grants room back only after writing to its own socket, so
/// a reader that stalls holds up its own connection and nothing else, and what is buffered stays bounded.
/// </summary>
public sealed class TunnelMultiplexer : IAsyncDisposable
{
    private static readonly WriteOptions BufferedWrite = new(WriteFlags.BufferHint);

    private readonly ConcurrentDictionary<ulong, TunnelConnection> _connections = new();
    private readonly TunnelFrameQueue _frames;
    private readonly Func<Open, CancellationToken, Task<Socket>> _dial;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly PeerViolations _violations;
    private readonly Lock _idGate = new();
    private ulong _nextId;
    private ulong _highestPeerId;
    private long _bytesSent;
    private long _bytesReceived;
    private long _connectionsOpened;
    private long _connectionsOverBudget;

    /// <summary>
    /// A multiplexer for <paramref name="side"/>. <paramref name="peerWindow"/> is the receive window the peer announced
    /// (this side's initial send window per connection); <paramref name="dial"/> makes the socket for a connection the
    /// peer opens (it throws <see cref="TunnelDialException"/> or a <see cref="SocketException"/> when it cannot).
    /// <paramref name="clock"/> paces the log of refused frames (the system clock when null).
    /// </summary>
    public TunnelMultiplexer(TunnelSide side, int peerWindow, TunnelLimits limits, Func<Open, CancellationToken, Task<Socket>> dial, ILogger logger, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(dial);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThan(peerWindow, 1);
        Side = side;
        PeerWindow = Math.Min(peerWindow, TunnelLimits.MaxWindow);
        Limits = limits;
        _dial = dial;
        _logger = logger;
        _nextId = side == TunnelSide.Broker ? 2UL : 1UL;
        _frames = new TunnelFrameQueue(limits.QueuedDataFrames);
        Budget = new StreamBufferBudget(limits.StreamBufferBudget);
        _violations = new PeerViolations(limits, clock ?? TimeProvider.System, logger);
    }

    /// <summary>Which side this is.</summary>
    public TunnelSide Side { get; }

    /// <summary>The peer's receive window: how many bytes of a connection this side may send before it grants more.</summary>
    public int PeerWindow { get; }

    /// <summary>This side's limits.</summary>
    public TunnelLimits Limits { get; }

    /// <summary>Raised when the peer ends a connection for a reason other than both sides being done (id, reason, message): the agent reports failed dials this way.</summary>
    public event Action<ulong, CloseReason, string>? ConnectionFailedAtPeer;

    /// <summary>Connections open now.</summary>
    public int OpenConnections => _connections.Count;

    /// <summary>Connections opened (by either side) since the stream started.</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _connectionsOpened);

    /// <summary>Payload bytes sent to the peer.</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Payload bytes received from the peer.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    /// <summary>Frames of the peer refused so far (for connections never opened, Opens refused); each was answered with a Close until <see cref="ProtocolFault"/>.</summary>
    public long RefusedFrames => _violations.Refused;

    /// <summary>
    /// Why the stream must end: the peer sent more than <see cref="TunnelLimits.MaxProtocolErrors"/> frames that break the
    /// protocol. Null while it may go on; the caller reading the stream checks it after <see cref="Receive"/> and ends the stream with this reason.
    /// </summary>
    public string? ProtocolFault => _violations.Fault;

    /// <summary>
    /// Bytes received and not yet written to local sockets, over all connections: at most a receive window per
    /// connection, and <see cref="TunnelLimits.StreamBufferBudget"/> for them all.
    /// </summary>
    public long BufferedBytes => Budget.Held;

    /// <summary>Connections ended because their local reader was behind while <see cref="TunnelLimits.StreamBufferBudget"/> was spent.</summary>
    public long ConnectionsOverBudget => Interlocked.Read(ref _connectionsOverBudget);

    internal StreamBufferBudget Budget { get; }

    internal CancellationToken Stopping => _stopping.Token;

    internal ILogger Logger => _logger;

    /// <summary>
    /// Opens a connection to the peer for <paramref name="socket"/> (the broker: a data plane connected to a workload
    /// port; the agent: a local app connected to an exposed port) and forwards it until either side ends it. The
    /// multiplexer owns the socket from here on. Returns false (and closes the socket) when the stream is at its connection limit or stopping.
    /// </summary>
    /// <param name="socket">The accepted socket.</param>
    /// <param name="open">What the peer is told (the id is set here).</param>
    /// <param name="outbound">Rewrites what is read from the socket before it is sent, if given.</param>
    public bool Open(Socket socket, Open open, IByteTransform? outbound = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(open);
        if (_stopping.IsCancellationRequested || _connections.Count >= Limits.MaxConnections)
        {
            socket.Dispose();
            return false;
        }

        lock (_idGate)
        {
            open.ConnectionId = _nextId;
            _nextId += 2;
        }

        var connection = new TunnelConnection(this, open.ConnectionId, outbound);
        _connections[open.ConnectionId] = connection;
        Interlocked.Increment(ref _connectionsOpened);
        QueueControl(new Frame { Open = open });
        connection.Start(Task.FromResult(socket));
        return true;
    }

    /// <summary>
    /// Handles a frame read from the stream, if it is one of the connection frames (Open, Data, HalfClose, Close,
    /// Window); returns false for the others, which the caller handles (Hello, Ping, Goodbye, frames of a newer
    /// protocol). Never blocks and never throws for what the peer sent: a frame that breaks the rules closes its
    /// connection with a reason, and nothing else.
    /// </summary>
    public bool Receive(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        switch (frame.FrameCase)
        {
            case Frame.FrameOneofCase.Open:
                OnOpen(frame.Open);
                return true;
            case Frame.FrameOneofCase.Data:
                Interlocked.Add(ref _bytesReceived, frame.Data.Payload.Length);
                if (Find(frame.Data.ConnectionId, "Data") is { } receiving && !receiving.Deliver(frame.Data.Payload))
                {
                    receiving.Fail(CloseReason.ProtocolError, $"connection {frame.Data.ConnectionId}: the peer sent more than the {Limits.ReceiveWindow}-byte window it was granted");
                }

                return true;
            case Frame.FrameOneofCase.HalfClose:
                Find(frame.HalfClose.ConnectionId, "HalfClose")?.PeerHalfClosed();
                return true;
            case Frame.FrameOneofCase.Close:
                // A Close may cross one this side sent: an id already gone is not an error.
                if (_connections.TryGetValue(frame.Close.ConnectionId, out var closing))
                {
                    closing.PeerClosed(frame.Close);
                }

                return true;
            case Frame.FrameOneofCase.Window:
                if (Find(frame.Window.ConnectionId, "Window") is { } granted && !granted.Grant(frame.Window.Increment))
                {
                    granted.Fail(CloseReason.ProtocolError, $"connection {frame.Window.ConnectionId}: the peer granted more than {TunnelLimits.MaxWindow} bytes");
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Control frames waiting for the stream. They are answers to what the peer sends (Pongs, Windows, Closes), so a peer
    /// that sends and never reads makes them pile up: a caller ends the stream when this passes <see cref="MaxControlQueued"/>.
    /// </summary>
    public int ControlQueued => _frames.ControlQueued;

    /// <summary>The most control frames that may wait for the stream before the peer counts as not reading.</summary>
    public int MaxControlQueued => Math.Max(1024, 4 * Limits.MaxConnections);

    /// <summary>Queues a frame that is not about one connection (Ping, Pong, Goodbye); it goes ahead of queued data.</summary>
    public void SendControl(Frame frame) => QueueControl(frame);

    /// <summary>
    /// Writes every frame to send through <paramref name="write"/> (the stream's single writer) until the multiplexer is
    /// disposed or <paramref name="cancellationToken"/> fires. Control frames (Open, Window, resets, pings) go ahead of queued data.
    /// </summary>
    public Task WriteFramesAsync(Func<Frame, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        return WriteFramesAsync((frame, _, token) => write(frame, token), cancellationToken);
    }

    /// <summary>
    /// As <see cref="WriteFramesAsync(Func{Frame, CancellationToken, Task}, CancellationToken)"/>, telling
    /// <paramref name="write"/> whether more frames follow at once: the writer should then buffer instead of flushing
    /// (gRPC's <c>WriteFlags.BufferHint</c>), so a burst of frames costs one flush.
    /// </summary>
    public Task WriteFramesAsync(Func<Frame, bool, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        return _frames.WriteFramesAsync(write, cancellationToken);
    }

    /// <summary>
    /// Writes every frame to <paramref name="stream"/> (a gRPC stream; this is its single writer), with
    /// <c>WriteFlags.BufferHint</c> while more frames follow at once, so a burst of frames costs one flush.
    /// </summary>
    public Task WriteFramesAsync(IAsyncStreamWriter<Frame> stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return WriteFramesAsync(
            (frame, more, token) =>
            {
                stream.WriteOptions = more ? BufferedWrite : null;
                return stream.WriteAsync(frame, token);
            },
            cancellationToken);
    }

    /// <summary>Ends every connection (their sockets are reset) and stops the writer once what is queued is written.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        var running = _connections.Values.Select(c => c.Completion).ToArray();
        foreach (var connection in _connections.Values)
        {
            connection.Abort();
        }

        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A socket that would not close in time is left to the finalizer; the stream is over either way.
        }

        _frames.Complete();
        _violations.Flush();
        _stopping.Dispose();
    }

    internal ValueTask SendOrderedAsync(Frame frame, CancellationToken cancellationToken) => _frames.QueueOrderedAsync(frame, cancellationToken);

    /// <summary>Queues a Data frame carrying <paramref name="payload"/> (not copied); <paramref name="pooled"/>, if given, goes back to the shared array pool once the frame is written.</summary>
    internal ValueTask SendDataAsync(ulong id, ReadOnlyMemory<byte> payload, byte[]? pooled, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _bytesSent, payload.Length);
        return _frames.QueueOrderedAsync(new Frame { Data = new Data { ConnectionId = id, Payload = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(payload) } }, cancellationToken, pooled);
    }

    internal void SendUrgent(Frame frame) => QueueControl(frame);

    private void QueueControl(Frame frame) => _frames.QueueControl(frame);

    internal void OnOverBudget() => Interlocked.Increment(ref _connectionsOverBudget);

    internal void OnPeerFailed(ulong id, CloseReason reason, string message) => ConnectionFailedAtPeer?.Invoke(id, reason, message);

    internal void Forget(TunnelConnection connection) => _connections.TryRemove(new KeyValuePair<ulong, TunnelConnection>(connection.Id, connection));

    private void OnOpen(Open open)
    {
        var id = open.ConnectionId;
        var peerParity = Side == TunnelSide.Broker ? 1UL : 0UL;
        string? refused = null;
        var reason = CloseReason.ProtocolError;
        lock (_idGate)
        {
            if (id == 0 || id % 2 != peerParity)
            {
                refused = $"connection id {id} is not one the {(Side == TunnelSide.Broker ? "agent" : "broker")} may open";
            }
            else if (id <= _highestPeerId)
            {
                refused = $"connection id {id} was used before";
            }
            else
            {
                _highestPeerId = id;
            }
        }

        if (refused is null && (_stopping.IsCancellationRequested || _connections.Count >= Limits.MaxConnections))
        {
            refused = $"too many connections on this tunnel (limit {Limits.MaxConnections})";
            reason = CloseReason.Limit;
        }

        if (refused is not null)
        {
            if (_violations.Record($"Open frame for tunnel connection {id} refused: {refused}", protocolError: reason == CloseReason.ProtocolError))
            {
                QueueControl(new Frame { Close = new Close { ConnectionId = id, Reason = reason, Message = refused } });
            }

            return;
        }

        var connection = new TunnelConnection(this, id);
        _connections[id] = connection;
        Interlocked.Increment(ref _connectionsOpened);
        connection.Start(DialAsync(open, connection));
    }

    private async Task<Socket> DialAsync(Open open, TunnelConnection connection)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.Stopping);
        timeout.CancelAfter(Limits.DialTimeout);
        try
        {
            return await _dial(open, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!connection.Stopping.IsCancellationRequested)
        {
            throw new TunnelDialException(CloseReason.DialFailed, $"no answer within {Limits.DialTimeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary>The connection a frame names; an id never opened closes that id as a protocol error, an id already closed is ignored (frames cross).</summary>
    private TunnelConnection? Find(ulong id, string frame)
    {
        if (_connections.TryGetValue(id, out var connection))
        {
            return connection;
        }

        bool used;
        lock (_idGate)
        {
            var ours = id % 2 == (Side == TunnelSide.Broker ? 0UL : 1UL);
            used = id != 0 && (ours ? id < _nextId : id <= _highestPeerId);
        }

        if (!used && _violations.Record($"{frame} frame for tunnel connection {id}, which was never opened", protocolError: true))
        {
            var message = $"{frame} frame for connection {id}, which was never opened";
            QueueControl(new Frame { Close = new Close { ConnectionId = id, Reason = CloseReason.ProtocolError, Message = message } });
        }

        return null;
    }
}
