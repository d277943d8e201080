namespace XdsControlPlane.Xds;

/// <summary>
/// Log messages of the xDS server, with fixed event ids. This is where client-supplied text (node ids, groups
/// derived from the node, type URLs, nonces, NACK messages, reasons quoting a request) enters the log: such values
/// are <see cref="LoggedName"/> or <see cref="LoggedMessage"/> parameters, made printable and capped when the event
/// is rendered, so a client can neither forge log lines nor write escape sequences to an operator's terminal,
/// whatever the call site passes.
/// </summary>
internal static partial class XdsLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "xDS stream {StreamId} opened by node {NodeId} ({Client}, group {Group})")]
    public static partial void StreamOpened(ILogger logger, long streamId, LoggedName nodeId, ClientAgent client, LoggedName group);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "xDS stream {StreamId} of node {NodeId} closed")]
    public static partial void StreamClosed(ILogger logger, long streamId, LoggedName nodeId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Node {NodeId} (stream {StreamId}) rejected {Type} version {Version}: {ErrorMessage}")]
    public static partial void Nack(ILogger logger, LoggedName nodeId, long streamId, LoggedName type, string? version, LoggedMessage errorMessage);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Debug, Message = "Stream {StreamId}: ignoring {Type} request with stale nonce {Nonce} (latest {LatestNonce})")]
    public static partial void StaleNonce(ILogger logger, long streamId, LoggedName type, LoggedName nonce, string? latestNonce);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Stream {StreamId}: sent {Type} version {Version} ({Count} resources, nonce {Nonce})")]
    public static partial void Sent(ILogger logger, long streamId, LoggedName type, string version, int count, string nonce);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Stream {StreamId}: invalid request: {Reason}")]
    public static partial void InvalidRequest(ILogger logger, long streamId, LoggedMessage reason);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Debug, Message = "Stream {StreamId}: node group {Group} has no snapshot yet; waiting")]
    public static partial void WaitingForSnapshot(ILogger logger, long streamId, LoggedName group);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "xDS stream {StreamId} of node {NodeId} reached its maximum age; ending it so the client reconnects")]
    public static partial void MaxAgeReached(ILogger logger, long streamId, LoggedName nodeId);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "xDS stream {StreamId} of node {NodeId} ended: the server is shutting down, so the client reconnects to another replica")]
    public static partial void ServerStopping(ILogger logger, long streamId, LoggedName nodeId);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Stream {StreamId}: a request was larger than {MaxRequestBytes} bytes (MaxRequestBytes; the server's --max-request-bytes); ending the stream with RESOURCE_EXHAUSTED")]
    public static partial void RequestTooLarge(ILogger logger, long streamId, int maxRequestBytes);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Stream {StreamId}: stream callback {Callback}.{Method} threw; the stream goes on")]
    public static partial void CallbackFailed(ILogger logger, Exception exception, long streamId, string callback, string method);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Stream {StreamId}: a request is not a valid {MessageType}: {Reason}; ending the stream with INVALID_ARGUMENT")]
    public static partial void MalformedRequest(ILogger logger, long streamId, string messageType, LoggedMessage reason);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "{Count} more log lines of kind {Kind} about client behaviour were left out in the last {Interval} (at most Xds:ClientLogLines per Xds:ClientLogInterval; counted in xds_client_log_lines_suppressed_total)")]
    public static partial void ClientLinesSuppressed(ILogger logger, long count, string kind, TimeSpan interval);
}
