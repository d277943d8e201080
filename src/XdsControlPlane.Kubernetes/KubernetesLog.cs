namespace XdsControlPlane.Kubernetes;

/// <summary>Log messages of the Kubernetes source, with fixed event ids.</summary>
internal static partial class KubernetesLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Listed {Count} {Kind} objects at resource version {ResourceVersion}")]
    public static partial void Listed(ILogger logger, string kind, int count, string resourceVersion);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "{Kind} watch from resource version {ResourceVersion} is too old (410 Gone); listing again")]
    public static partial void Gone(ILogger logger, string kind, string? resourceVersion);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "{Kind} list/watch failed ({Reason}); retrying in {Seconds:F1} s")]
    public static partial void WatchFailed(ILogger logger, string kind, double seconds, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Invalid object: {Problem}")]
    public static partial void Invalid(ILogger logger, string problem);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Published from Kubernetes: {RouteGroups} RouteGroups, {Sandboxes} Sandboxes, {LocalWorkloads} LocalWorkloads, {Services} Services")]
    public static partial void Published(ILogger logger, int routeGroups, int sandboxes, int localWorkloads, int services);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Could not write the status of {Resource}: {Reason}")]
    public static partial void StatusWriteFailed(ILogger logger, string resource, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "{Identity} holds the Lease {Namespace}/{Name}: this replica writes status")]
    public static partial void Leading(ILogger logger, string identity, string @namespace, string name);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "{Identity} no longer holds the Lease: another replica writes status")]
    public static partial void NotLeading(ILogger logger, string identity);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning, Message = "Leader election failed: {Reason}")]
    public static partial void LeaseFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information, Message = "{Resource} is {Phase}")]
    public static partial void LocalWorkloadPhase(ILogger logger, string resource, string phase);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "Could not record the Event {Reason} for {Resource}: {Error}")]
    public static partial void EventFailed(ILogger logger, string resource, string reason, string error);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Sandbox {Resource} is {Phase}: {Message}")]
    public static partial void SandboxPhase(ILogger logger, string resource, string phase, string message);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Sandbox {Resource} expired (ttl {Ttl}); deleted")]
    public static partial void SandboxExpired(ILogger logger, string resource, string ttl);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Information, Message = "Sandbox {Resource} deleted: its forks are removed and its finalizer released")]
    public static partial void SandboxFinalized(ILogger logger, string resource);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Warning, Message = "Reconciling {Controller} {Key} failed ({Error}); retrying in {Seconds:F1} s")]
    public static partial void ReconcileFailed(ILogger logger, string controller, string key, string error, double seconds, Exception exception);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Warning, Message = "Could not share or read the replicas' ACK state: {Reason}")]
    public static partial void ReplicaAcksFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Information, Message = "Deleted the ACK Lease {Name} of a replica that stopped renewing it")]
    public static partial void ReplicaLeaseExpired(ILogger logger, string name);

    [LoggerMessage(EventId = 3017, Level = LogLevel.Information, Message = "{Identity} released the Lease {Namespace}/{Name} on shutdown: another replica can take over at once")]
    public static partial void LeaseReleased(ILogger logger, string identity, string @namespace, string name);

    [LoggerMessage(EventId = 3018, Level = LogLevel.Warning, Message = "Could not release the Lease {Namespace}/{Name} on shutdown ({Reason}); it expires on its own")]
    public static partial void LeaseReleaseFailed(ILogger logger, string @namespace, string name, string reason);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Debug, Message = "Reconciling {Controller} {Namespace}/{Name} met a newer version (409 Conflict); retrying in {Seconds:F1} s")]
    public static partial void ReconcileConflict(ILogger logger, string controller, string @namespace, string name, double seconds);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Error, Message = "A status pass failed; every object's status is checked again at the next pass")]
    public static partial void StatusPassFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Status writes fail ({Reason}): {Resource} is retried in {Seconds:F1} s, and every object with backoff (honouring Retry-After); further failures are logged at Debug until a write succeeds")]
    public static partial void StatusWritesFailing(ILogger logger, string resource, string reason, double seconds);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Debug, Message = "Could not write the status of {Resource} ({Reason}); retrying in {Seconds:F1} s")]
    public static partial void StatusWriteRetry(ILogger logger, string resource, string reason, double seconds);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Information, Message = "Status writes succeed again after {Failures} failures")]
    public static partial void StatusWritesRecovered(ILogger logger, int failures);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Debug, Message = "{Kind} list/watch failed again ({Reason}); retrying in {Seconds:F1} s")]
    public static partial void WatchRetry(ILogger logger, string kind, double seconds, string reason);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Information, Message = "{Kind} list/watch works again after {Failures} failures")]
    public static partial void WatchRecovered(ILogger logger, string kind, int failures);

    [LoggerMessage(EventId = 3207, Level = LogLevel.Debug, Message = "{Kind} watch was cut ({Reason}); resuming from resource version {ResourceVersion}")]
    public static partial void WatchCut(ILogger logger, string kind, string? resourceVersion, string reason);

    [LoggerMessage(EventId = 3208, Level = LogLevel.Debug, Message = "Could not write the phase of {Resource} ({Reason}); the next tick tries again")]
    public static partial void PhaseWriteRetry(ILogger logger, string resource, string reason);
}
