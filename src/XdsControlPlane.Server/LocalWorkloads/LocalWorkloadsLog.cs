namespace XdsControlPlane.Server.LocalWorkloads;

/// <summary>Log messages of the Kubernetes mode's LocalWorkload registry, with fixed event ids (7150–7159, in the broker's range).</summary>
internal static partial class LocalWorkloadsLog
{
    [LoggerMessage(EventId = 7150, Level = LogLevel.Warning, Message = "The API server refused the control plane's {Verb} of {Resource} in namespace {Namespace} ({Code}) for LocalWorkload {Workload}; its agent is refused until then: grant the control plane's ServiceAccount the chart's RBAC (charts/xds-control-plane/templates/rbac.yaml). The API server said: {Message}")]
    public static partial void ControlPlaneForbidden(ILogger logger, string verb, string resource, string @namespace, int code, string workload, string message);
}
