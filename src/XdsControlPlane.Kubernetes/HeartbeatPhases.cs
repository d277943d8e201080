using System.Globalization;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// The phase of a LocalWorkload from its tunnel heartbeats: <c>Pending</c> until the agent first connects,
/// <c>Connected</c> while heartbeats arrive, <c>Disconnected</c> after <see cref="HeartbeatTimeout"/> without one, once
/// the broker withdrew the tunnel, or while the broker holds it after losing the agent's stream (its routes are then
/// withdrawn and requests fall back to the baseline). Pure: the caller supplies the time.
/// </summary>
public static class HeartbeatPhases
{
    /// <summary>How long without a heartbeat before a LocalWorkload is Disconnected.</summary>
    public static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The phase <paramref name="workload"/> should have at <paramref name="now"/>.</summary>
    public static string Compute(LocalWorkload workload, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(workload);
        if (workload.Status?.Phase == LocalWorkloadPhase.Failed)
        {
            return LocalWorkloadPhase.Failed;
        }

        var heartbeat = workload.Status?.Tunnel?.LastHeartbeat;
        if (heartbeat is null || !DateTimeOffset.TryParse(heartbeat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var last))
        {
            return LocalWorkloadPhase.Pending;
        }

        // The broker withdrew the tunnel (the agent said goodbye, or stayed away past the reconnect grace).
        if (workload.Status?.Tunnel?.Address is not { Length: > 0 })
        {
            return LocalWorkloadPhase.Disconnected;
        }

        // The broker lost the agent's stream and holds the workload for its reconnect grace (Disconnected, no connectedAt,
        // the tunnel's address and ports kept): only the broker's Connected write, when the agent is back, ends that.
        if (workload.Status?.Phase == LocalWorkloadPhase.Disconnected && workload.Status.Tunnel.ConnectedAt is null)
        {
            return LocalWorkloadPhase.Disconnected;
        }

        return now - last > HeartbeatTimeout ? LocalWorkloadPhase.Disconnected : LocalWorkloadPhase.Connected;
    }
}
