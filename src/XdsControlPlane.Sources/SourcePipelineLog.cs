namespace XdsControlPlane.Sources;

internal static partial class SourcePipelineLog
{
    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Invalid manifest: {Problem}")]
    public static partial void Invalid(ILogger logger, string problem);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "{Resource} is broken at its source; its last good version stays in force")]
    public static partial void KeptLastGood(ILogger logger, string resource);

    [LoggerMessage(EventId = 1113, Level = LogLevel.Error, Message = "Applying {Count} changes failed; the last published snapshot stays in force and the next change is tried again")]
    public static partial void PassFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 1114, Level = LogLevel.Debug, Message = "Applied {Changes} changes: {Changed} objects changed, {Validated} validated, published: {Published}")]
    public static partial void Applied(ILogger logger, int changes, int changed, int validated, bool published);

    [LoggerMessage(EventId = 1115, Level = LogLevel.Error, Message = "{Observer} failed while taking note of a publication; the publication stands")]
    public static partial void ObserverFailed(ILogger logger, string observer, Exception exception);

    [LoggerMessage(EventId = 1116, Level = LogLevel.Error, Message = "Reading the source {Source} failed; what it published before stays in force and its next change is read again")]
    public static partial void ReadFailed(ILogger logger, string source, Exception exception);

    [LoggerMessage(EventId = 1117, Level = LogLevel.Debug, Message = "{Count} references to objects that do not exist are not judged yet: a source is reading its whole state again")]
    public static partial void ReferencesHeld(ILogger logger, int count);

    [LoggerMessage(EventId = 3100, Level = LogLevel.Error, Message = "Publishing {Count} EndpointSlice changes ahead of the pass failed; the next pass publishes them")]
    public static partial void EndpointLaneFailed(ILogger logger, int count, Exception exception);
}
