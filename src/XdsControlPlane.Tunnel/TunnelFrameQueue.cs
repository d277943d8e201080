using System.Buffers;
using System.Threading.Channels;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The frames one side of a tunnel stream has to send, in two queues drained by the stream's single writer: control
/// frames (Open, Window, Close, Ping, Pong, Goodbye), unbounded and sent first, and ordered frames (Data, HalfClose),
/// bounded so that connections producing data wait while the stream is slow.
/// </summary>
internal sealed class TunnelFrameQueue
{
    private readonly Channel<(Frame Frame, byte[]? Pooled)> _ordered;
    private readonly Channel<Frame> _control = Channel.CreateUnbounded<Frame>(new UnboundedChannelOptions { SingleReader = true });
    private int _controlQueued;

    /// <summary>A queue holding at most <paramref name="orderedFrames"/> ordered frames.</summary>
    public TunnelFrameQueue(int orderedFrames) =>
        _ordered = Channel.CreateBounded<(Frame, byte[]?)>(new BoundedChannelOptions(orderedFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Control frames waiting for the stream.</summary>
    public int ControlQueued => Volatile.Read(ref _controlQueued);

    /// <summary>Queues a control frame; it goes ahead of queued ordered frames.</summary>
    public void QueueControl(Frame frame)
    {
        if (_control.Writer.TryWrite(frame))
        {
            Interlocked.Increment(ref _controlQueued);
        }
    }

    /// <summary>Queues an ordered frame, waiting while the queue is full; <paramref name="pooled"/> (the array its payload wraps, if rented) is returned to the shared pool once it is written.</summary>
    public ValueTask QueueOrderedAsync(Frame frame, CancellationToken cancellationToken, byte[]? pooled = null) => _ordered.Writer.WriteAsync((frame, pooled), cancellationToken);

    /// <summary>Nothing more is queued: the writer ends once what is queued is written.</summary>
    public void Complete()
    {
        _control.Writer.TryComplete();
        _ordered.Writer.TryComplete();
    }

    /// <summary>
    /// Writes every queued frame through <paramref name="write"/> until the queue is completed or
    /// <paramref name="cancellationToken"/> fires, control frames first, telling the writer whether more follow at once.
    /// </summary>
    public async Task WriteFramesAsync(Func<Frame, bool, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        Task<bool>? controlReady = null;
        Task<bool>? orderedReady = null;
        var controlOpen = true;
        var orderedOpen = true;
        while (controlOpen || orderedOpen)
        {
            if (TryRead(out var frame, out var pooled))
            {
                // Hold each frame until the next is known, so the writer knows whether more follow.
                while (true)
                {
                    var more = TryRead(out var next, out var nextPooled);
                    await write(frame, more, cancellationToken).ConfigureAwait(false);

                    // Written means serialized: the payload's bytes are no longer needed.
                    if (pooled is not null)
                    {
                        ArrayPool<byte>.Shared.Return(pooled);
                    }

                    if (!more)
                    {
                        break;
                    }

                    (frame, pooled) = (next, nextPooled);
                }
            }

            if (controlOpen)
            {
                controlReady ??= _control.Reader.WaitToReadAsync(cancellationToken).AsTask();
            }

            if (orderedOpen)
            {
                orderedReady ??= _ordered.Reader.WaitToReadAsync(cancellationToken).AsTask();
            }

            await Task.WhenAny(controlOpen ? controlReady! : orderedReady!, orderedOpen ? orderedReady! : controlReady!).ConfigureAwait(false);
            if (controlReady is { IsCompleted: true })
            {
                controlOpen = await controlReady.ConfigureAwait(false);
                controlReady = null;
            }

            if (orderedReady is { IsCompleted: true })
            {
                orderedOpen = await orderedReady.ConfigureAwait(false);
                orderedReady = null;
            }
        }
    }

    private bool TryRead(out Frame frame, out byte[]? pooled)
    {
        pooled = null;
        if (_control.Reader.TryRead(out frame!))
        {
            Interlocked.Decrement(ref _controlQueued);
            return true;
        }

        if (_ordered.Reader.TryRead(out var ordered))
        {
            (frame, pooled) = ordered;
            return true;
        }

        return false;
    }
}
