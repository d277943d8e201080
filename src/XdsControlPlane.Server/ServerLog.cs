namespace XdsControlPlane.Server;

/// <summary>Log messages of the server host, with fixed event ids.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Listening: xDS on port {XdsPort} (HTTP/2), admin on port {AdminPort} (HTTP/1.1), tunnel broker on port {TunnelPort} (HTTP/2)")]
    public static partial void Listening(ILogger logger, int xdsPort, int adminPort, int tunnelPort);

}
