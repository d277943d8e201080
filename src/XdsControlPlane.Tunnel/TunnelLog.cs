using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>Log messages of the tunnel's connections, with fixed event ids (7000–7099).</summary>
internal static partial class TunnelLog
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Debug, Message = "Tunnel connection {Id} ended: {Reason} {Message}")]
    public static partial void ConnectionFailed(ILogger logger, ulong id, CloseReason reason, string message);

    [LoggerMessage(EventId = 7001, Level = LogLevel.Debug, Message = "Tunnel connection {Id} closed by the peer: {Reason} {Message}")]
    public static partial void ConnectionClosedByPeer(ILogger logger, ulong id, CloseReason reason, string message);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Warning, Message = "{Refusal}; told the peer")]
    public static partial void FrameRefused(ILogger logger, string refusal);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "{Count} more tunnel frames refused in the last {Seconds:0.#} s (each told the peer), the last: {Refusal}")]
    public static partial void FramesRefused(ILogger logger, long count, double seconds, string refusal);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Warning, Message = "Ending the tunnel stream: {Reason}")]
    public static partial void StreamFaulted(ILogger logger, string reason);
}
