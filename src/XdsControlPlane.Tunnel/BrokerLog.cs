namespace XdsControlPlane.Tunnel;

/// <summary>Log messages of the tunnel broker, with fixed event ids (7100–7199). Secrets never appear in them; client text only printable and cut short.</summary>
internal static partial class BrokerLog
{
    /// <summary>An agent's stream is attached; its version (client text) is logged printable and cut short.</summary>
    public static void AgentConnected(ILogger logger, string workload, string agentVersion, uint version, string ports) =>
        AgentAttached(logger, workload, new ClientName(agentVersion), version, ports);

    [LoggerMessage(EventId = 7100, Level = LogLevel.Information, Message = "Agent connected for LocalWorkload {Workload} (sandboxctl {AgentVersion}, protocol {Version}); ports {Ports}")]
    private static partial void AgentAttached(ILogger logger, string workload, ClientName agentVersion, uint version, string ports);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Agent of LocalWorkload {Workload} disconnected ({Reason}) after {Connections} connections, {BytesIn} bytes in, {BytesOut} bytes out")]
    public static partial void AgentDisconnected(ILogger logger, string workload, string reason, long connections, long bytesIn, long bytesOut);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Information, Message = "LocalWorkload {Workload}: no agent for {Seconds:0} s; its listeners are closed and its routes withdrawn")]
    public static partial void GraceOver(ILogger logger, string workload, double seconds);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Warning, Message = "LocalWorkload {Workload}: could not release it: {Reason}")]
    public static partial void ReleaseFailed(ILogger logger, string workload, string reason);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Information, Message = "LocalWorkload {Workload}: refused a connection to port {Port}: {Reason}")]
    public static partial void InboundRefused(ILogger logger, string workload, int port, string reason);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Warning, Message = "LocalWorkload {Workload}: could not write a heartbeat: {Reason}")]
    public static partial void HeartbeatFailed(ILogger logger, string workload, string reason);

    [LoggerMessage(EventId = 7106, Level = LogLevel.Warning, Message = "LocalWorkload {Workload}: accepting on port {Port} failed: {Reason}")]
    public static partial void AcceptFailed(ILogger logger, string workload, int port, string reason);

    [LoggerMessage(EventId = 7107, Level = LogLevel.Information, Message = "Refused an agent for LocalWorkload {Workload}: {Status} {Reason}")]
    public static partial void AgentRefused(ILogger logger, string workload, Grpc.Core.StatusCode status, string reason);

    [LoggerMessage(EventId = 7107, Level = LogLevel.Information, Message = "Refused an agent for LocalWorkload {Workload}: {Status} {Reason}")]
    public static partial void AgentRefused(ILogger logger, HelloWorkload workload, Grpc.Core.StatusCode status, string reason);

    [LoggerMessage(EventId = 7108, Level = LogLevel.Information, Message = "Refused an agent stream from {Peer}: {Status} {Reason}")]
    public static partial void StreamRefused(ILogger logger, string peer, Grpc.Core.StatusCode status, string reason);

    [LoggerMessage(EventId = 7109, Level = LogLevel.Information, Message = "{Count} more agent refusals ({Reason}) were not logged (at most 10 of each reason every {Seconds:0} s; tunnel_broker_refusals_total counts them all)")]
    public static partial void RefusalsLeftOut(ILogger logger, int count, AgentRefusal reason, double seconds);

    [LoggerMessage(EventId = 7110, Level = LogLevel.Warning, Message = "Ended the agent stream of LocalWorkload {Workload}: {Status} {Reason}; after {Connections} connections, {BytesIn} bytes in, {BytesOut} bytes out")]
    public static partial void AgentStreamEnded(ILogger logger, string workload, Grpc.Core.StatusCode status, string reason, long connections, long bytesIn, long bytesOut);
}
