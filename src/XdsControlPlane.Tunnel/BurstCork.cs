using System.Net.Sockets;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Holds back the agent's TCP output to the broker while the single writer of one tunnel stream writes a burst of Data
/// frames, and lets it go right after the burst's last byte reached the socket (Linux <c>TCP_CORK</c>; elsewhere it does
/// nothing). HttpClient writes every 16 KiB HTTP/2 DATA frame with a send of its own, and each send woke the broker's
/// socket event thread once (docs/tunnel-benchmark.md, sixth and seventh passes); corked, a 64 KiB Data frame leaves as
/// one segment. One cork serves one HTTP/2 connection (one <see cref="SocketsHttpHandler"/> with
/// <see cref="ConnectAsync"/> as its connect callback) and the one writer of the stream on it.
/// </summary>
/// <remarks>
/// The writer cannot uncork when its last write returns: HttpClient completes a write when it has copied the frame into its
/// connection buffer and sends it afterwards. So the writer says how many bytes it handed over in the burst (a lower bound:
/// HTTP/2 and TLS framing only add), and the socket's stream uncorks after the send that brings what the socket took since
/// the burst began to that count, or at once when it already has. The socket is therefore never corked while the writer is
/// idle and every byte of a burst has been sent; the bytes of a burst that HttpClient sends later than the next burst's
/// start go out with that burst.
/// </remarks>
public sealed class BurstCork
{
    /// <summary>The smallest Data payload that starts a burst on its own: one that spans more than one HTTP/2 DATA frame.</summary>
    internal const int SingleFrameBurst = 16 * 1024;

    /// <summary>gRPC's prefix of each message (compressed flag and length).</summary>
    private const int GrpcMessagePrefix = 5;

    private const int IpProtoTcp = 6;
    private const int TcpCork = 3;

    private readonly Lock _gate = new();
    private CorkedSocketStream? _current;
    private bool _corked;
    private bool _failed;
    private long _burstStart;
    private long _releaseAt = -1;
    private bool _inBurst;
    private long _burstBytes;
    private long _bursts;

    /// <summary>Whether corking works on this platform (Linux).</summary>
    public static bool Supported => OperatingSystem.IsLinux();

    /// <summary>How many times a burst corked the socket.</summary>
    public long Bursts => Interlocked.Read(ref _bursts);

    /// <summary>Whether the current socket is corked now.</summary>
    public bool IsCorked
    {
        get
        {
            lock (_gate)
            {
                return _corked;
            }
        }
    }

    /// <summary>
    /// HttpClient's connect callback (<see cref="SocketsHttpHandler.ConnectCallback"/>): connects a TCP socket as the
    /// handler's own callback does (no Nagle) and returns its stream, which this cork watches from now on.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var socket = Socket.OSSupportsIPv6 ? new Socket(SocketType.Stream, ProtocolType.Tcp) : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return Attach(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Watches <paramref name="socket"/> (connected) from now on; returns the stream HttpClient writes to, which owns it.</summary>
    internal Stream Attach(Socket socket)
    {
        var stream = new CorkedSocketStream(socket, this);
        lock (_gate)
        {
            _current = stream;
            _corked = false;
            _failed = false;
            _releaseAt = -1;
        }

        return stream;
    }

    /// <summary>
    /// Before the writer writes <paramref name="frame"/>: a Data frame larger than one HTTP/2 DATA frame, or one that
    /// more frames follow at once (<paramref name="more"/>), starts a burst unless one is under way.
    /// </summary>
    internal void BeforeWrite(Protocol.Frame frame, bool more)
    {
        if (_inBurst || frame.Data is not { } data || (!more && data.Payload.Length < SingleFrameBurst))
        {
            return;
        }

        _inBurst = true;
        _burstBytes = 0;
        Begin();
    }

    /// <summary>After the writer wrote <paramref name="frame"/>: counts it into the burst, and ends the burst when no more follow.</summary>
    internal void AfterWrite(Protocol.Frame frame, bool more)
    {
        if (!_inBurst)
        {
            return;
        }

        _burstBytes += GrpcMessagePrefix + (frame.Data?.Payload.Length ?? 0);
        if (!more)
        {
            _inBurst = false;
            End(_burstBytes);
        }
    }

    /// <summary>The writer ended (cancelled, failed): nothing of a burst may stay held back.</summary>
    internal void WriterStopped()
    {
        _inBurst = false;
        lock (_gate)
        {
            Uncork();
        }
    }

    /// <summary>A burst begins: cork (or stay corked) and count what the socket takes from here.</summary>
    internal void Begin()
    {
        lock (_gate)
        {
            if (_current is null || _failed)
            {
                return;
            }

            if (!_corked)
            {
                _corked = SetCork(_current, true);
                if (_corked)
                {
                    Interlocked.Increment(ref _bursts);
                }
            }

            _burstStart = _current.Sent;
            _releaseAt = -1;
        }
    }

    /// <summary>The burst's last frame was handed to HttpClient, <paramref name="bytes"/> at least since it began: uncork once the socket took them.</summary>
    internal void End(long bytes)
    {
        lock (_gate)
        {
            if (!_corked || _current is null)
            {
                return;
            }

            var target = _burstStart + bytes;
            if (_current.Sent >= target)
            {
                Uncork();
            }
            else
            {
                _releaseAt = target;
            }
        }
    }

    /// <summary>The socket of <paramref name="stream"/> took <paramref name="bytes"/> more.</summary>
    internal void OnSent(CorkedSocketStream stream, int bytes)
    {
        lock (_gate)
        {
            stream.Sent += bytes;
            if (stream == _current && _releaseAt >= 0 && stream.Sent >= _releaseAt)
            {
                Uncork();
            }
        }
    }

    private void Uncork()
    {
        if (_corked && _current is not null)
        {
            SetCork(_current, false);
        }

        _corked = false;
        _releaseAt = -1;
    }

    /// <summary>Sets or clears <c>TCP_CORK</c>; false when the socket refuses (closed): corking stops for this socket.</summary>
    private bool SetCork(CorkedSocketStream stream, bool on)
    {
        if (!Supported)
        {
            return false;
        }

        try
        {
            Span<byte> value = stackalloc byte[sizeof(int)];
            _ = BitConverter.TryWriteBytes(value, on ? 1 : 0);
            stream.Transport.SetRawSocketOption(IpProtoTcp, TcpCork, value);
            return on;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            _failed = true;
            return false;
        }
    }
}
