namespace XdsControlPlane.Server;

/// <summary>Log messages of virtual hosts held out of their route configuration (<see cref="VirtualHostIsolation"/>), with fixed event ids.</summary>
internal static partial class IsolationLog
{
    [LoggerMessage(EventId = 3200, Level = LogLevel.Error, Message = "Virtual host {Host} of route configuration {Routes} (node group {Group}) {Outcome}; the rest of the configuration is published: {Reason}")]
    public static partial void HostHeldOut(ILogger logger, string host, string routes, string group, string outcome, string reason);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Virtual host {Host} of route configuration {Routes} (node group {Group}) is no longer held out: it passes again, or is gone")]
    public static partial void HostRestored(ILogger logger, string host, string routes, string group);
}
