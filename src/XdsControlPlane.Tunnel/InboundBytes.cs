using System.Net.Sockets;
using System.Threading.Channels;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The peer's bytes of one connection on their way to its socket. While nothing waits, a chunk is written straight to
/// the socket by the thread that read the frame (a non-blocking send: no hand-off to another thread); what the socket
/// does not take at once, and everything after it, is queued for the connection's writer loop, which sends it
/// asynchronously — so a socket whose reader stalls holds up only its own connection. Window is granted back once half
/// the receive window has reached the socket. What waits in the queue is taken from the stream's
/// <see cref="StreamBufferBudget"/>: a chunk the budget has no room for is refused, and the connection ends.
/// </summary>
internal sealed class InboundBytes(int receiveWindow, StreamBufferBudget budget, Action<uint> grant)
{
    private readonly Channel<ReadOnlyMemory<byte>?> _queued = Channel.CreateUnbounded<ReadOnlyMemory<byte>?>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Lock _gate = new();
    private readonly int _grantEvery = Math.Max(1, receiveWindow / 2);
    private Socket? _socket;
    private bool _writerBusy = true;
    private bool _ended;
    private bool _released;
    private long _buffered;
    private long _ungranted;
    private long _written;

    /// <summary>
    /// Takes <paramref name="payload"/> for the socket. <see cref="Delivery.OverWindow"/> when the peer sent more than its
    /// window allows, or after its half-close; <see cref="Delivery.OverBudget"/> when the socket did not take it at once
    /// and the stream's budget has no room for it (nothing of it is kept); <see cref="Delivery.Failed"/> with
    /// <paramref name="failure"/> when a direct send failed. The connection ends on all three but the first.
    /// </summary>
    public Delivery Deliver(ReadOnlyMemory<byte> payload, out SocketException? failure)
    {
        failure = null;
        if (Interlocked.Add(ref _ungranted, payload.Length) > receiveWindow)
        {
            return Delivery.OverWindow;
        }

        lock (_gate)
        {
            if (_ended)
            {
                return Delivery.OverWindow;
            }

            if (_released)
            {
                // The connection is over: what the peer still sends is dropped.
                return Delivery.Taken;
            }

            if (!_writerBusy && _socket is { } socket)
            {
                int sent;
                SocketError error;
                try
                {
                    sent = socket.Send(payload.Span, SocketFlags.None, out error);
                }
                catch (ObjectDisposedException)
                {
                    // The connection closed meanwhile: what the peer still sends is dropped.
                    return Delivery.Taken;
                }

                if (error is not (SocketError.Success or SocketError.WouldBlock))
                {
                    failure = new SocketException((int)error);
                    return Delivery.Failed;
                }

                Written(Math.Max(0, sent));
                if (sent == payload.Length)
                {
                    return Delivery.Taken;
                }

                payload = payload[Math.Max(0, sent)..];
            }

            if (!budget.TryTake(payload.Length))
            {
                return Delivery.OverBudget;
            }

            _buffered += payload.Length;
            _writerBusy = true;
            _queued.Writer.TryWrite(payload);
            return Delivery.Taken;
        }
    }

    /// <summary>The connection is over: what is still queued goes back to the stream's budget, and later chunks are dropped.</summary>
    public void Release()
    {
        lock (_gate)
        {
            if (_released)
            {
                return;
            }

            _released = true;
            budget.Return(_buffered);
            _buffered = 0;
        }
    }

    /// <summary>The peer sends nothing more: once what is queued is written, the socket's sending side is shut down.</summary>
    public void End()
    {
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            _writerBusy = true;
            _queued.Writer.TryWrite(null);
            _queued.Writer.TryComplete();
        }
    }

    /// <summary>Writes what is queued to <paramref name="socket"/>, and lets direct sends happen while nothing is queued, until the peer's half-close or cancellation.</summary>
    public async Task WriteAsync(Socket socket, CancellationToken cancellationToken)
    {
        socket.Blocking = false;
        lock (_gate)
        {
            _socket = socket;
        }

        var reader = _queued.Reader;
        while (true)
        {
            while (reader.TryRead(out var chunk))
            {
                if (chunk is not { } bytes)
                {
                    socket.Shutdown(SocketShutdown.Send);
                    return;
                }

                await socket.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                Dequeued(bytes.Length);
                Written(bytes.Length);
            }

            lock (_gate)
            {
                // Nothing queued: the next chunk may go straight to the socket. (Checked under the gate Deliver holds.)
                if (!reader.TryPeek(out _))
                {
                    _writerBusy = false;
                }
            }

            if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>Queued bytes reached the socket: they leave the budget (unless the connection released it all already).</summary>
    private void Dequeued(int count)
    {
        lock (_gate)
        {
            if (!_released)
            {
                _buffered -= count;
                budget.Return(count);
            }
        }
    }

    /// <summary>Counts bytes that reached the socket; grants the peer window per half window. Called by one writer at a time.</summary>
    private void Written(int count)
    {
        _written += count;
        if (_written >= _grantEvery)
        {
            Interlocked.Add(ref _ungranted, -_written);
            grant((uint)_written);
            _written = 0;
        }
    }
}

/// <summary>What became of a chunk the peer sent (<see cref="InboundBytes.Deliver"/>).</summary>
internal enum Delivery
{
    /// <summary>Written to the socket, queued for it, or dropped because the connection is over.</summary>
    Taken,

    /// <summary>More than the peer's window allows, or after its half-close: a protocol error.</summary>
    OverWindow,

    /// <summary>The socket did not take it and the stream's buffer budget has no room: the connection ends.</summary>
    OverBudget,

    /// <summary>The direct send to the socket failed: the connection ends.</summary>
    Failed,
}
