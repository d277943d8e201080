using System.Net.Sockets;
using System.Threading.Channels;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The peer's bytes of one connection on their way to its socket. While nothing waits, a chunk is written straight to
/// the socket by the thread that read the frame (a non-blocking send: no hand-off to another thread); what the socket
/// does not take at once, and everything after it, is queued for the connection's writer loop, which sends it
/// asynchronously — so a socket whose reader stalls holds up only its own connection. Window is granted back once half
/// the receive window has reached the socket.
/// </summary>
internal sealed class InboundBytes(int receiveWindow, Action<uint> grant)
{
    private readonly Channel<ReadOnlyMemory<byte>?> _queued = Channel.CreateUnbounded<ReadOnlyMemory<byte>?>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Lock _gate = new();
    private readonly int _grantEvery = Math.Max(1, receiveWindow / 2);
    private Socket? _socket;
    private bool _writerBusy = true;
    private bool _ended;
    private long _buffered;
    private long _ungranted;
    private long _written;

    /// <summary>Bytes received and not yet written to the socket.</summary>
    public long Buffered => Interlocked.Read(ref _buffered);

    /// <summary>
    /// Takes <paramref name="payload"/> for the socket; false when the peer sent more than its window allows, or after
    /// its half-close. A socket error on a direct send is returned in <paramref name="failure"/> (the connection fails).
    /// </summary>
    public bool Deliver(ReadOnlyMemory<byte> payload, out SocketException? failure)
    {
        failure = null;
        if (Interlocked.Add(ref _ungranted, payload.Length) > receiveWindow)
        {
            return false;
        }

        lock (_gate)
        {
            if (_ended)
            {
                return false;
            }

            Interlocked.Add(ref _buffered, payload.Length);
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
                    return true;
                }

                if (error is not (SocketError.Success or SocketError.WouldBlock))
                {
                    failure = new SocketException((int)error);
                    return true;
                }

                Written(Math.Max(0, sent));
                if (sent == payload.Length)
                {
                    return true;
                }

                payload = payload[Math.Max(0, sent)..];
            }

            _writerBusy = true;
            _queued.Writer.TryWrite(payload);
            return true;
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

    /// <summary>Counts bytes that reached the socket; grants the peer window per half window. Called by one writer at a time.</summary>
    private void Written(int count)
    {
        Interlocked.Add(ref _buffered, -count);
        _written += count;
        if (_written >= _grantEvery)
        {
            Interlocked.Add(ref _ungranted, -_written);
            grant((uint)_written);
            _written = 0;
        }
    }
}
