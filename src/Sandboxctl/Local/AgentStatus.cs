using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// What an agent knows about its tunnel right now: since when it is connected, the last Pong (heartbeat), the
/// multiplexer of the current stream (connections, bytes) and what earlier streams carried. Written by the stream,
/// read by the status line and the state file.
/// </summary>
internal sealed class AgentStatus(TimeProvider clock)
{
    private readonly Lock _gate = new();
    private TunnelMultiplexer? _mux;
    private long _earlierIn;
    private long _earlierOut;

    /// <summary>When the current stream was welcomed; null while not connected.</summary>
    public DateTimeOffset? ConnectedSince { get; private set; }

    /// <summary>When the broker last answered a ping (or welcomed the stream).</summary>
    public DateTimeOffset? LastHeartbeat { get; private set; }

    /// <summary>How many streams were welcomed so far.</summary>
    public int Connections { get; private set; }

    /// <summary>The routing key in force (from the last Welcome).</summary>
    public string RoutingKey { get; private set; } = "";

    /// <summary>The replica holding the stream.</summary>
    public string Replica { get; private set; } = "";

    /// <summary>Where data planes reach the workload's ports (from the last Welcome).</summary>
    public IReadOnlyList<WorkloadEndpoint> Endpoints { get; private set; } = [];

    /// <summary>The preview URLs the last Welcome named.</summary>
    public IReadOnlyList<PreviewLink> Previews { get; private set; } = [];

    /// <summary>How long the broker keeps the workload after a stream is lost (from the last Welcome; its default before one).</summary>
    public TimeSpan ReconnectGrace { get; private set; } = TunnelProtocol.DefaultReconnectGrace;

    /// <summary>Raised (on the stream's thread, after the numbers are updated) each time a stream is welcomed.</summary>
    public event Action<AgentSnapshot>? Welcomed;

    /// <summary>A stream was welcomed and forwards through <paramref name="mux"/>.</summary>
    public void OnConnected(Welcome welcome, TunnelMultiplexer mux)
    {
        OnConnectedLocked(welcome, mux);
        Welcomed?.Invoke(Snapshot());
    }

    private void OnConnectedLocked(Welcome welcome, TunnelMultiplexer mux)
    {
        lock (_gate)
        {
            _mux = mux;
            ConnectedSince = clock.GetUtcNow();
            LastHeartbeat = ConnectedSince;
            Connections++;
            RoutingKey = welcome.RoutingKey;
            Replica = welcome.Replica;
            Endpoints = [.. welcome.Endpoints];
            Previews = PreviewLinks.Of(welcome);
            ReconnectGrace = TunnelProtocol.ReconnectGraceOf(welcome);
        }
    }

    /// <summary>The broker answered a ping.</summary>
    public void OnPong()
    {
        lock (_gate)
        {
            LastHeartbeat = clock.GetUtcNow();
        }
    }

    /// <summary>How long the last stream stayed welcomed (zero before one ended).</summary>
    public TimeSpan LastSessionLength { get; private set; }

    /// <summary>Tunnelled connections that were open when their stream was lost (not ended by the developer), over every stream so far.</summary>
    public long ConnectionsLost { get; private set; }

    /// <summary>The stream is over; what it carried counts on, and <paramref name="lost"/> connections that were open on it are lost.</summary>
    public void OnDisconnected(int lost)
    {
        lock (_gate)
        {
            ConnectionsLost += lost;
            LastSessionLength = ConnectedSince is { } since ? clock.GetUtcNow() - since : TimeSpan.Zero;
            if (_mux is { } mux)
            {
                _earlierIn += mux.BytesReceived;
                _earlierOut += mux.BytesSent;
            }

            _mux = null;
            ConnectedSince = null;
        }
    }

    /// <summary>The numbers now.</summary>
    public AgentSnapshot Snapshot()
    {
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            return new AgentSnapshot(
                ConnectedSince,
                LastHeartbeat is { } beat ? now - beat : null,
                _mux?.OpenConnections ?? 0,
                _earlierIn + (_mux?.BytesReceived ?? 0),
                _earlierOut + (_mux?.BytesSent ?? 0),
                RoutingKey)
            {
                Previews = Previews,
            };
        }
    }
}

/// <summary>The agent's numbers at one moment: bytes in are what the broker sent to the laptop, bytes out what the laptop sent.</summary>
internal sealed record AgentSnapshot(DateTimeOffset? ConnectedSince, TimeSpan? HeartbeatAge, int ActiveConnections, long BytesIn, long BytesOut, string RoutingKey)
{
    /// <summary>The preview URLs the last Welcome named (they change only with a Welcome, which is always written).</summary>
    public IReadOnlyList<PreviewLink> Previews { get; init; } = [];

    /// <summary>Whether anything but the clock differs from <paramref name="other"/>.</summary>
    public bool DiffersFrom(AgentSnapshot? other) =>
        other is null || other.ConnectedSince != ConnectedSince || other.ActiveConnections != ActiveConnections || other.BytesIn != BytesIn || other.BytesOut != BytesOut || other.RoutingKey != RoutingKey;
}
