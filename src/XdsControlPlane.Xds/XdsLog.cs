namespace XdsControlPlane.Xds;

/// <summary>Log messages of the xDS server, with fixed event ids.</summary>
internal static partial class XdsLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "xDS stream {StreamId} opened by node {NodeId} ({Client}, group {Group})")]
    public static partial void StreamOpened(ILogger logger, long streamId, string nodeId, ClientAgent client, string group);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "xDS stream {StreamId} of node {NodeId} closed")]
    public static partial void StreamClosed(ILogger logger, long streamId, string nodeId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Node {NodeId} (stream {StreamId}) rejected {Type} version {Version}: {ErrorMessage}")]
    public static partial void Nack(ILogger logger, string nodeId, long streamId, string type, string? version, string errorMessage);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Stream {StreamId}: ignoring {Type} request with stale nonce {Nonce} (latest {LatestNonce})")]
    public static partial void StaleNonce(ILogger logger, long streamId, string type, string nonce, string? latestNonce);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Stream {StreamId}: sent {Type} version {Version} ({Count} resources, nonce {Nonce})")]
    public static partial void Sent(ILogger logger, long streamId, string type, string version, int count, string nonce);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Stream {StreamId}: invalid request: {Reason}")]
    public static partial void InvalidRequest(ILogger logger, long streamId, string reason);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Debug, Message = "Stream {StreamId}: node group {Group} has no snapshot yet; waiting")]
    public static partial void WaitingForSnapshot(ILogger logger, long streamId, string group);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "xDS stream {StreamId} of node {NodeId} ended: the server is shutting down, so the client reconnects to another replica")]
    public static partial void ServerStopping(ILogger logger, long streamId, string nodeId);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Stream {StreamId}: a request was larger than {MaxRequestBytes} bytes (MaxRequestBytes; the server's --max-request-bytes); ending the stream with RESOURCE_EXHAUSTED")]
    public static partial void RequestTooLarge(ILogger logger, long streamId, int maxRequestBytes);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "xDS stream {StreamId} of node {NodeId} reached its maximum age; ending it so the client reconnects")]
    public static partial void MaxAgeReached(ILogger logger, long streamId, string nodeId);
}
