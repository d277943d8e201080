using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// One stream of a <see cref="TunnelMultiplexer"/> (protocol version 2): the primary (index 0), or a lane an agent
/// opened for bulk traffic. Each has its own queue of frames and its own writer; a connection's frames all go on the
/// lane its Open went on, so they keep their order, and connections on different lanes do not share a stream's window,
/// reader or writer.
/// </summary>
public sealed class TunnelLane
{
    private static readonly WriteOptions BufferedWrite = new(WriteFlags.BufferHint);

    private readonly TunnelMultiplexer _mux;
    private int _connections;

    internal TunnelLane(TunnelMultiplexer mux, int index, int queuedDataFrames, bool raw = false)
    {
        _mux = mux;
        Index = index;
        Raw = raw;
        Frames = new TunnelFrameQueue(queuedDataFrames);
    }

    /// <summary>0 for the primary stream, 1 and up for lanes.</summary>
    public int Index { get; }

    /// <summary>Whether the lane is carried on a raw lane's connection (<see cref="RawLane"/>) rather than a gRPC stream; new connections prefer these.</summary>
    public bool Raw { get; }

    /// <summary>Connections open on this lane now.</summary>
    public int OpenConnections => Volatile.Read(ref _connections);

    /// <summary>Control frames waiting for this lane's stream (a peer that never reads it makes them pile up).</summary>
    public int ControlQueued => Frames.ControlQueued;

    internal TunnelFrameQueue Frames { get; }

    /// <summary>The highest connection id the peer opened on this lane (ids rise on each stream; guarded by the multiplexer's id gate).</summary>
    internal ulong HighestPeerId { get; set; }

    internal void Opened() => Interlocked.Increment(ref _connections);

    internal void Closed() => Interlocked.Decrement(ref _connections);

    /// <summary>Handles a frame read from this lane's stream, as <see cref="TunnelMultiplexer.Receive(Frame)"/> does; a connection the peer opens here lives on this lane.</summary>
    public bool Receive(Frame frame) => _mux.ReceiveOn(frame, this);

    /// <summary>Queues a frame that is not about one connection (Ping, Pong) on this lane.</summary>
    public void SendControl(Frame frame) => Frames.QueueControl(frame);

    /// <summary>
    /// Writes every frame of this lane through <paramref name="write"/> (the stream's single writer), telling it whether
    /// more follow at once, until the lane ends or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public Task WriteFramesAsync(Func<Frame, bool, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        return Frames.WriteFramesAsync(write, cancellationToken);
    }

    /// <summary>
    /// Writes every frame of this lane to <paramref name="stream"/> (a gRPC stream; this is its single writer), with
    /// <c>WriteFlags.BufferHint</c> while more frames follow at once, so a burst of frames costs one flush.
    /// </summary>
    public Task WriteFramesAsync(IAsyncStreamWriter<Frame> stream, CancellationToken cancellationToken) => WriteFramesAsync(stream, null, cancellationToken);

    /// <summary>
    /// As <see cref="WriteFramesAsync(IAsyncStreamWriter{Frame}, CancellationToken)"/>, holding the socket's sends of
    /// each burst of Data frames together with <paramref name="cork"/> (the cork of the HTTP/2 connection the stream is on).
    /// </summary>
    public async Task WriteFramesAsync(IAsyncStreamWriter<Frame> stream, BurstCork? cork, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (cork is null)
        {
            await WriteFramesAsync(
                (frame, more, token) =>
                {
                    stream.WriteOptions = more ? BufferedWrite : null;
                    return stream.WriteAsync(frame, token);
                },
                cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await WriteFramesAsync(
                (frame, more, token) =>
                {
                    stream.WriteOptions = more ? BufferedWrite : null;
                    cork.BeforeWrite(frame, more);
                    var writing = stream.WriteAsync(frame, token);
                    if (!writing.IsCompletedSuccessfully)
                    {
                        return AfterWriteAsync(writing, cork, frame, more);
                    }

                    cork.AfterWrite(frame, more);
                    return Task.CompletedTask;
                },
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            cork.WriterStopped();
        }

        static async Task AfterWriteAsync(Task writing, BurstCork cork, Frame frame, bool more)
        {
            await writing.ConfigureAwait(false);
            cork.AfterWrite(frame, more);
        }
    }
}
