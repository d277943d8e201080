namespace XdsControlPlane.Server.Previews;

/// <summary>The preview authorization service's log messages (event ids 7340-7369): one access-log line per decision, never a token or cookie value.</summary>
internal static partial class PreviewAccessLog
{
    [LoggerMessage(EventId = 7340, Level = LogLevel.Information, Message = "Preview {Host} {Method}: {Decision} ({Reason}); subject {Subject} created by {Creator}; from {Source}")]
    public static partial void Decided(ILogger logger, string host, string method, string decision, string reason, string subject, string creator, string source);

    [LoggerMessage(EventId = 7341, Level = LogLevel.Information, Message = "Preview check refused: {Reason} (host {Host}, from {Source})")]
    public static partial void Unreadable(ILogger logger, string reason, string host, string source);

    [LoggerMessage(EventId = 7342, Level = LogLevel.Error, Message = "Preview check for {Host} failed; refused")]
    public static partial void Failed(ILogger logger, string host, Exception exception);

    [LoggerMessage(EventId = 7343, Level = LogLevel.Information, Message = "Preview session key loaded from {Source}")]
    public static partial void SessionKeyLoaded(ILogger logger, string source);

    [LoggerMessage(EventId = 7344, Level = LogLevel.Warning, Message = "Preview session key from {Source} not available yet: {Problem}; session cookies are refused until it is (retrying)")]
    public static partial void SessionKeyFailed(ILogger logger, string source, string problem);

    [LoggerMessage(EventId = 7345, Level = LogLevel.Warning, Message = "PreviewGrant {Namespace}/{Name} is not valid and opens nothing: {Problems}")]
    public static partial void InvalidGrant(ILogger logger, string @namespace, string name, string problems);

    [LoggerMessage(EventId = 7346, Level = LogLevel.Information, Message = "Preview session key: none configured (--preview-session-key-file); a key made in memory signs sessions, which end with this process")]
    public static partial void SessionKeyInMemory(ILogger logger);
}
