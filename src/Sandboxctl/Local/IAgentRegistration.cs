using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// How the agent makes its LocalWorkload known, which depends on where the broker keeps workloads: in the cluster
/// (<see cref="KubernetesRegistration"/>: the agent creates the object) or in the broker's memory
/// (<see cref="ManifestsRegistration"/>: the Hello carries the spec). Each yields the Hello and cleans up after itself.
/// </summary>
internal interface IAgentRegistration
{
    /// <summary><c>kubernetes</c> or <c>manifests</c>, as the state file records it.</summary>
    string Mode { get; }

    /// <summary>The LocalWorkload's namespace.</summary>
    string Namespace { get; }

    /// <summary>Registers the workload where this mode keeps it; returns the Hello every stream opens with.</summary>
    Task<Hello> RegisterAsync(CancellationToken cancellationToken);

    /// <summary>Undoes the registration when the agent stops (never throws; problems are warnings).</summary>
    Task ReleaseAsync(AgentReporter reporter);
}
