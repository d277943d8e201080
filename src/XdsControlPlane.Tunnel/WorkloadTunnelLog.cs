namespace XdsControlPlane.Tunnel;

/// <summary>What the broker logs about a workload between its agent's streams.</summary>
internal static partial class WorkloadTunnelLog
{
    [LoggerMessage(EventId = 7160, Level = LogLevel.Information, Message = "LocalWorkload {Workload}: the agent's stream was lost without a goodbye; its routes are withdrawn (keyed requests reach the baseline) and its ports held {Seconds:0.#} s for a reconnect")]
    public static partial void Detached(ILogger logger, string workload, double seconds);

    [LoggerMessage(EventId = 7161, Level = LogLevel.Warning, Message = "LocalWorkload {Workload}: could not withdraw its routes after the agent's stream was lost: {Reason}")]
    public static partial void DetachFailed(ILogger logger, Exception exception, string workload, string reason);

    [LoggerMessage(EventId = 7162, Level = LogLevel.Debug, Message = "LocalWorkload {Workload}: its Disconnected status was not written while this replica stops ({Reason}); the agent reconnects to another replica")]
    public static partial void DetachNotWrittenAtShutdown(ILogger logger, string workload, string reason);
}
