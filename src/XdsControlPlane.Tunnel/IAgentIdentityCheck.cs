using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Holds an agent's transport identity (with mTLS on the broker's listener: its client certificate) against the
/// workload its Hello claims, before the registry is asked. The broker has none when client certificates are off.
/// </summary>
public interface IAgentIdentityCheck
{
    /// <summary>
    /// Null when the agent of <paramref name="context"/> may act for <paramref name="hello"/>'s workload (a Hello whose
    /// fields passed <see cref="HelloValidator"/>); else the sentence it is refused with (PERMISSION_DENIED), naming both
    /// the identity and the workload.
    /// </summary>
    string? Refusal(Hello hello, ServerCallContext context);
}
