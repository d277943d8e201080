using Grpc.Core;

namespace Sandboxctl.Local;

/// <summary>
/// What a tunnel stream's status means to the developer: which ones are worth another attempt (the broker or the way
/// to it went away) and, for the others, one loud sentence with a hint and an exit code.
/// </summary>
internal static class BrokerRefusal
{
    /// <summary>Whether a stream that ended with <paramref name="code"/> is tried again (transport failures, a replica going away).</summary>
    public static bool IsRetryable(StatusCode code) =>
        code is StatusCode.Unavailable or StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled or StatusCode.DeadlineExceeded or StatusCode.Aborted;

    /// <summary>The CLI error for a status that is not retried.</summary>
    public static CliException ToCliException(RpcException refusal, string broker, string workload, bool manifestsMode)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        var detail = refusal.Status.Detail;
        return refusal.StatusCode switch
        {
            StatusCode.InvalidArgument => new CliException($"the tunnel broker refused the request: {detail}", "Check the arguments of sandboxctl local connect (sandboxctl local connect --help).", ExitCodes.UserError),
            StatusCode.NotFound => new CliException($"the tunnel broker cannot find what LocalWorkload {workload} names: {detail}", manifestsMode ? "Check --service and --sandbox against the server's manifests (sandboxctl render -f DIR)." : "Check --service and --sandbox (kubectl get services,sandboxes -n NAMESPACE).", ExitCodes.UserError),
            StatusCode.PermissionDenied or StatusCode.Unauthenticated => new CliException(
                $"the tunnel broker refused this agent for {workload}: {detail}",
                DeniedHint(detail, manifestsMode),
                ExitCodes.UserError),
            StatusCode.AlreadyExists => new CliException($"another agent is connected for {workload}: {detail}", "Stop it (sandboxctl local disconnect), pick another name with --name, or take it over with --force.", ExitCodes.UserError),
            StatusCode.FailedPrecondition => new CliException($"the tunnel broker cannot serve this agent: {detail}", "Check the --port REMOTE ports against the Service's ports; if it names protocol versions, upgrade sandboxctl or the control plane; if it names the control plane's RBAC, tell the cluster's admin.", ExitCodes.UserError),
            StatusCode.ResourceExhausted => new CliException($"the tunnel broker is out of capacity: {detail}", "Disconnect agents you no longer use (sandboxctl local status), or ask the cluster's admin to widen the broker's port range.", ExitCodes.ConnectionError),
            StatusCode.Unimplemented => new CliException($"{broker} is not a tunnel broker: {detail}", "Point --server at the control plane's tunnel port (default 18001), not its xDS or admin port.", ExitCodes.ConnectionError),
            _ => new CliException($"the tunnel stream to {broker} failed: {refusal.StatusCode}: {detail}", "Run with --verbose for details.", ExitCodes.ConnectionError),
        };
    }

    /// <summary>
    /// What to do about a refusal of the agent itself: a broker with mTLS names the client certificate's identity when it is
    /// not of the LocalWorkload's namespace (or not a SPIFFE ID of its trust domain); otherwise the token or secret was wrong.
    /// </summary>
    private static string DeniedHint(string detail, bool manifestsMode) =>
        detail.Contains("connected as spiffe://", StringComparison.Ordinal) || detail.Contains("connected with a client certificate", StringComparison.Ordinal)
            ? "Connect with a client certificate (--cert-file, --key-file) whose SPIFFE ID spiffe://<trust-domain>/ns/<namespace>/sa/<service-account> names the LocalWorkload's namespace (-n)."
            : manifestsMode ? "Pass the broker's token with --token." : "Another agent may have taken the LocalWorkload over with --force; run sandboxctl local status.";
}
