namespace XdsControlPlane.Server;

/// <summary>Log messages of the manifest source and the snapshot publisher, with fixed event ids.</summary>
internal static partial class ManifestLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Loaded manifests from {Directory}: {RouteGroups} RouteGroups, {Sandboxes} Sandboxes, {LocalWorkloads} LocalWorkloads, {Services} Services; {Problems} problems")]
    public static partial void Loaded(ILogger logger, string directory, int routeGroups, int sandboxes, int localWorkloads, int services, int problems);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Published snapshot for node group {Group}: version {Version}, {Resources} resources")]
    public static partial void Published(ILogger logger, string group, string version, int resources);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "Snapshot for node group {Group} rejected by the consistency check; the previous one stays in force: {Problems}")]
    public static partial void SnapshotRejected(ILogger logger, string group, string problems);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Error, Message = "{Type} resource {Name} (version {Version}) breaks Envoy's rules and is not published; the version served now stays in force where there is one: {Violations}")]
    public static partial void ResourceInvalid(ILogger logger, string type, string name, string version, string violations);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Debug, Message = "Ignored {Count} documents of kinds the control plane does not read ({Kinds})")]
    public static partial void IgnoredKinds(ILogger logger, int count, string kinds);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Debug, Message = "Reloaded manifests: {Parsed} of {Files} files read again, {Changed} objects changed, {Validated} validated")]
    public static partial void Applied(ILogger logger, int parsed, int files, int changed, int validated);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Debug, Message = "Reloaded manifests ({Parsed} of {Files} files read again): nothing translation reads changed, nothing published")]
    public static partial void NothingChanged(ILogger logger, int parsed, int files);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Warning, Message = "Cannot watch {Directory} for changes ({Reason}); checking it every {Seconds} s instead")]
    public static partial void WatchUnavailable(ILogger logger, string directory, double seconds, string reason);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Error, Message = "Reloading manifests from {Directory} failed; the last published snapshot stays in force and the next change is tried again")]
    public static partial void ReloadFailed(ILogger logger, string directory, Exception exception);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Warning, Message = "The manifest directory {Directory} does not exist any more; the last published snapshot stays in force, checking every {Seconds} s for it to come back")]
    public static partial void DirectoryMissing(ILogger logger, string directory, double seconds);

    [LoggerMessage(EventId = 1109, Level = LogLevel.Information, Message = "The manifest directory {Directory} is back; reloading and watching it again")]
    public static partial void DirectoryBack(ILogger logger, string directory);
}
