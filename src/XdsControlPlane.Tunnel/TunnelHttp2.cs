namespace XdsControlPlane.Tunnel;

/// <summary>
/// The HTTP/2 flow-control windows of the tunnel's gRPC connections, for both ends: one HTTP/2 stream carries all the
/// tunnelled connections of an agent's stream (or lane, protocol version 2: each lane has an HTTP/2 connection and stream
/// of its own), so its window bounds what they move together (window ÷ round trip). The
/// defaults (Kestrel: 768 KiB per stream, 1 MiB per connection; HttpClient: 64 KiB per stream, grown over time) cap
/// it at a few hundred MB/s once the round trip grows on a busy machine. Frame sizes stay at HTTP/2's 16 KiB:
/// HttpClient neither sends nor accepts larger ones.
/// </summary>
public static class TunnelHttp2
{
    /// <summary>Receive window per HTTP/2 stream, both ends (Kestrel's <c>InitialStreamWindowSize</c>, HttpClient's <c>InitialHttp2StreamWindowSize</c>).</summary>
    public const int StreamWindow = 4 * 1024 * 1024;

    /// <summary>Receive window per HTTP/2 connection at the broker (Kestrel's <c>InitialConnectionWindowSize</c>).</summary>
    public const int ConnectionWindow = 8 * 1024 * 1024;

    /// <summary>
    /// The agent's handler for its channel to the broker: the tunnel's windows, one HTTP/2 connection, keep-alive pings;
    /// with <paramref name="cork"/> (where <see cref="BurstCork.Supported"/>), its connections are made by the cork, so the
    /// writer of the stream on it can hold a burst's sends together, and their stream reads the socket in 64 KiB blocks
    /// (HttpClient itself asks for about one 16 KiB HTTP/2 frame per read).
    /// </summary>
    public static SocketsHttpHandler AgentHandler(BurstCork? cork = null)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = false,
            InitialHttp2StreamWindowSize = StreamWindow,
        };
        if (cork is not null && BurstCork.Supported)
        {
            handler.ConnectCallback = cork.ConnectAsync;
        }

        return handler;
    }
}
