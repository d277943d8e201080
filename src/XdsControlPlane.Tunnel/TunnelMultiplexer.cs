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
/// a reader that stalls holds up its own connection and nothing else, and what is buffered stays bounded. With protocol
/// version 2 the agent may add lanes (<see cref="AddLane"/>): more streams of the same session, over which new
/// connections are spread; a connection's frames all travel on its lane.
/// </summary>
public sealed class TunnelMultiplexer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<ulong, TunnelConnection> _connections = new();
    private readonly TunnelLane?[] _lanes;
    private readonly Func<Open, CancellationToken, Task<Socket>> _dial;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly PeerViolations _violations;
    private readonly Lock _idGate = new();
    private ulong _nextId;
    private ulong _highestPeerId;
    private int _nextLane;
    private long _bytesSent;
    private long _bytesReceived;
    private long _connectionsOpened;
    private long _connectionsOverBudget;
    private long _connectionsCut;

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
        _lanes = new TunnelLane?[1 + limits.MaxLanes];
        Primary = _lanes[0] = new TunnelLane(this, 0, limits.QueuedDataFrames);
        Budget = new StreamBufferBudget(limits.StreamBufferBudget);
        _violations = new PeerViolations(limits, clock ?? TimeProvider.System, logger);
    }

    /// <summary>Which side this is.</summary>
    public TunnelSide Side { get; }

    /// <summary>The peer's receive window: how many bytes of a connection this side may send before it grants more.</summary>
    public int PeerWindow { get; }

    /// <summary>This side's limits.</summary>
    public TunnelLimits Limits { get; }

    /// <summary>The stream the session began with (lane 0): Ping, Pong and Goodbye go on it.</summary>
    public TunnelLane Primary { get; }

    /// <summary>Lanes attached now besides the primary.</summary>
    public int ExtraLanes => Lanes.Count - 1;

    /// <summary>The streams of this session now: the primary first, then the lanes attached.</summary>
    public IReadOnlyList<TunnelLane> Lanes
    {
        get
        {
            lock (_idGate)
            {
                return [.. _lanes.OfType<TunnelLane>()];
            }
        }
    }

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

    /// <summary>
    /// Connections reset by this side because the stream they were carried on went away: a lane removed
    /// (<see cref="RemoveLane"/>) or the whole multiplexer disposed — not ended by either end's Close.
    /// </summary>
    public long ConnectionsCut => Interlocked.Read(ref _connectionsCut);

    internal StreamBufferBudget Budget { get; }

    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>Whether the multiplexer is being disposed (readable after it was).</summary>
    internal bool IsStopping => _stopping.IsCancellationRequested;

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

        TunnelConnection connection;
        lock (_idGate)
        {
            open.ConnectionId = _nextId;
            _nextId += 2;
            connection = new TunnelConnection(this, open.ConnectionId, NextLane(), outbound);
            _connections[open.ConnectionId] = connection;
            connection.Lane.Opened();
        }

        Interlocked.Increment(ref _connectionsOpened);
        connection.Lane.Frames.QueueControl(new Frame { Open = open });
        connection.Start(Task.FromResult(socket));
        return true;
    }

    /// <summary>
    /// Handles a frame read from the stream, if it is one of the connection frames (Open, Data, HalfClose, Close,
    /// Window); returns false for the others, which the caller handles (Hello, Ping, Goodbye, frames of a newer
    /// protocol). Never blocks and never throws for what the peer sent: a frame that breaks the rules closes its
    /// connection with a reason, and nothing else.
    /// </summary>
    public bool Receive(Frame frame) => ReceiveOn(frame, Primary);

    /// <summary>
    /// Adds a lane (another stream of this session, protocol version 2); null when <see cref="TunnelLimits.MaxLanes"/>
    /// are attached already or the multiplexer is stopping. New connections are spread over the primary and the lanes —
    /// over the raw lanes only while there are any (<paramref name="raw"/>: carried on a raw lane's connection,
    /// <see cref="RawLane"/>, which moves bulk for less than a gRPC stream; the primary then keeps to pings and control).
    /// </summary>
    public TunnelLane? AddLane(bool raw = false)
    {
        lock (_idGate)
        {
            if (_stopping.IsCancellationRequested)
            {
                return null;
            }

            for (var i = 1; i < _lanes.Length; i++)
            {
                if (_lanes[i] is null)
                {
                    return _lanes[i] = new TunnelLane(this, i, Limits.QueuedDataFrames, raw);
                }
            }

            return null;
        }
    }

    /// <summary>The stream of <paramref name="lane"/> ended: its connections are reset (the peer, losing the same stream, resets its ends too) and its writer stops.</summary>
    public void RemoveLane(TunnelLane lane)
    {
        ArgumentNullException.ThrowIfNull(lane);
        if (lane.Index == 0)
        {
            throw new ArgumentException("the primary stream is the session itself; dispose the multiplexer", nameof(lane));
        }

        lock (_idGate)
        {
            if (!ReferenceEquals(_lanes[lane.Index], lane))
            {
                return;
            }

            _lanes[lane.Index] = null;
        }

        // Aborted before the lane's queue closes: a connection whose send then failed would otherwise end as if it
        // had finished, neither reset nor counted.
        foreach (var connection in _connections.Values.Where(c => ReferenceEquals(c.Lane, lane)))
        {
            if (connection.Abort())
            {
                OnCut();
            }
        }

        lane.Frames.Complete();
    }

    internal bool ReceiveOn(Frame frame, TunnelLane lane)
    {
        ArgumentNullException.ThrowIfNull(frame);
        switch (frame.FrameCase)
        {
            case Frame.FrameOneofCase.Open:
                OnOpen(frame.Open, lane);
                return true;
            case Frame.FrameOneofCase.Data:
                Interlocked.Add(ref _bytesReceived, frame.Data.Payload.Length);
                if (Find(frame.Data.ConnectionId, "Data", lane) is { } receiving && !receiving.Deliver(frame.Data.Payload))
                {
                    receiving.Fail(CloseReason.ProtocolError, $"connection {frame.Data.ConnectionId}: the peer sent more than the {Limits.ReceiveWindow}-byte window it was granted");
                }

                return true;
            case Frame.FrameOneofCase.HalfClose:
                Find(frame.HalfClose.ConnectionId, "HalfClose", lane)?.PeerHalfClosed();
                return true;
            case Frame.FrameOneofCase.Close:
                // A Close may cross one this side sent: an id already gone is not an error.
                if (_connections.TryGetValue(frame.Close.ConnectionId, out var closing))
                {
                    closing.PeerClosed(frame.Close);
                }

                return true;
            case Frame.FrameOneofCase.Window:
                if (Find(frame.Window.ConnectionId, "Window", lane) is { } granted && !granted.Grant(frame.Window.Increment))
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
    public int ControlQueued => Primary.ControlQueued;

    /// <summary>The most control frames that may wait for the stream before the peer counts as not reading.</summary>
    public int MaxControlQueued => Math.Max(1024, 4 * Limits.MaxConnections);

    /// <summary>Queues a frame that is not about one connection (Ping, Pong, Goodbye) on the primary stream; it goes ahead of queued data.</summary>
    public void SendControl(Frame frame) => Primary.SendControl(frame);

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
        return Primary.WriteFramesAsync(write, cancellationToken);
    }

    /// <summary>
    /// Writes every frame to <paramref name="stream"/> (a gRPC stream; this is its single writer), with
    /// <c>WriteFlags.BufferHint</c> while more frames follow at once, so a burst of frames costs one flush.
    /// </summary>
    public Task WriteFramesAsync(IAsyncStreamWriter<Frame> stream, CancellationToken cancellationToken) => Primary.WriteFramesAsync(stream, cancellationToken);

    /// <summary>
    /// As <see cref="WriteFramesAsync(IAsyncStreamWriter{Frame}, CancellationToken)"/>, holding the socket's sends of each
    /// burst of Data frames together with <paramref name="cork"/> (the agent's: the cork of its HTTP/2 connection to the broker).
    /// </summary>
    public Task WriteFramesAsync(IAsyncStreamWriter<Frame> stream, BurstCork? cork, CancellationToken cancellationToken) => Primary.WriteFramesAsync(stream, cork, cancellationToken);

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
            // One that saw the stop token first has counted itself (TunnelConnection.RunAsync).
            if (connection.Abort())
            {
                OnCut();
            }
        }

        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A socket that would not close in time is left to the finalizer; the stream is over either way.
        }

        lock (_idGate)
        {
            foreach (var lane in _lanes)
            {
                lane?.Frames.Complete();
            }
        }

        _violations.Flush();
        _stopping.Dispose();
    }

    /// <summary>Queues a Data frame carrying <paramref name="payload"/> (not copied); <paramref name="pooled"/>, if given, goes back to the shared array pool once the frame is written.</summary>
    internal ValueTask SendDataAsync(TunnelLane lane, ulong id, ReadOnlyMemory<byte> payload, byte[]? pooled, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _bytesSent, payload.Length);
        return lane.Frames.QueueOrderedAsync(new Frame { Data = new Data { ConnectionId = id, Payload = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(payload) } }, cancellationToken, pooled);
    }

    /// <summary>The lane for a connection this side opens: the primary and the lanes in turn, or the raw lanes in turn while there are any. Called under the id gate.</summary>
    private TunnelLane NextLane()
    {
        var rawOnly = Array.Exists(_lanes, lane => lane is { Raw: true });
        for (var tried = 0; tried < _lanes.Length; tried++)
        {
            _nextLane = (_nextLane + 1) % _lanes.Length;
            if (_lanes[_nextLane] is { } lane && (lane.Raw || !rawOnly))
            {
                return lane;
            }
        }

        return Primary;
    }

    internal void OnOverBudget() => Interlocked.Increment(ref _connectionsOverBudget);

    /// <summary>A connection still open was reset because its stream went away (<see cref="ConnectionsCut"/>).</summary>
    internal void OnCut() => Interlocked.Increment(ref _connectionsCut);

    internal void OnPeerFailed(ulong id, CloseReason reason, string message) => ConnectionFailedAtPeer?.Invoke(id, reason, message);

    internal void Forget(TunnelConnection connection)
    {
        if (_connections.TryRemove(new KeyValuePair<ulong, TunnelConnection>(connection.Id, connection)))
        {
            connection.Lane.Closed();
        }
    }

    private void OnOpen(Open open, TunnelLane lane)
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
            else if (id <= lane.HighestPeerId || _connections.ContainsKey(id))
            {
                // Ids rise on each stream; Opens on different lanes may overtake each other.
                refused = $"connection id {id} was used before";
            }
            else
            {
                lane.HighestPeerId = id;
                _highestPeerId = Math.Max(_highestPeerId, id);
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
                lane.SendControl(new Frame { Close = new Close { ConnectionId = id, Reason = reason, Message = refused } });
            }

            return;
        }

        var connection = new TunnelConnection(this, id, lane);
        _connections[id] = connection;
        lane.Opened();
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
    private TunnelConnection? Find(ulong id, string frame, TunnelLane lane)
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
            lane.SendControl(new Frame { Close = new Close { ConnectionId = id, Reason = CloseReason.ProtocolError, Message = message } });
        }

        return null;
    }
}
