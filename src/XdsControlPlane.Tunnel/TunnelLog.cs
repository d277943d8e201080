using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>Log messages of the tunnel's connections, with fixed event ids (7000–7099).</summary>
internal static partial class TunnelLog
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Debug, Message = "Tunnel connection {Id} ended: {Reason} {Message}")]
    public static partial void ConnectionFailed(ILogger logger, ulong id, CloseReason reason, string message);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Debug, Message = "Tunnel connection {Id} closed by the peer: {Reason} {Message}")]
    public static partial void ConnectionClosedByPeer(ILogger logger, ulong id, CloseReason reason, string message);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "Refused tunnel connection {Id}: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, ulong id, string reason);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "{Frame} frame for tunnel connection {Id}, which was never opened; told the peer")]
    public static partial void UnknownConnection(ILogger logger, ulong id, string frame);
}
