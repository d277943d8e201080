namespace XdsControlPlane.Server;

/// <summary>Log messages of the server host, with fixed event ids.</summary>
internal static partial class ServerLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Listening: xDS on port {XdsPort} (HTTP/2), admin on port {AdminPort} (HTTP/1.1), tunnel broker on port {TunnelPort} (HTTP/2)")]
    public static partial void Listening(ILogger logger, int xdsPort, int adminPort, int tunnelPort);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "The {Listener} listener closed {Count} connection(s) from {Peer}: the peer holds {MaxPerPeer} already (Connections:MaxPerPeer; counted in server_connections_refused_total); at most one such line a minute")]
    public static partial void PeerConnectionLimit(ILogger logger, string listener, string peer, int maxPerPeer, long count);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "The listeners stopped accepting {Count} time(s): the server holds its budget of {Budget} connections (the open-file limit less Connections:FileDescriptorHeadroom); new connections wait in the kernel's backlog until one closes; at most one such line a minute")]
    public static partial void ConnectionBudgetReached(ILogger logger, int budget, long count);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "The {Listener} listener closed {Count} connection(s) that sent no request within {Timeout} (Connections:FirstRequestTimeout; counted in server_connections_closed_without_request_total); at most one such line a minute")]
    public static partial void ConnectionWithoutRequest(ILogger logger, string listener, TimeSpan timeout, long count);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Connection budget: {Budget} connections for every listener together (the open-file limit {FileLimit} less Connections:FileDescriptorHeadroom)")]
    public static partial void ConnectionBudget(ILogger logger, int budget, long fileLimit);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "Connection budget: none (the open-file limit could not be read or is unlimited)")]
    public static partial void NoConnectionBudget(ILogger logger);
}
