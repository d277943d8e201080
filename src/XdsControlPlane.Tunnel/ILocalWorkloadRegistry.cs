using System.Net;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Where LocalWorkloads live for the broker: in the cluster (<c>--kubernetes</c>: the agent creates the object with
/// the user's credentials, the broker checks the secret against its hash and writes status) or in the broker's memory
/// (<c>--manifests</c>). The broker calls it; it throws <see cref="Grpc.Core.RpcException"/> with a precise status
/// and message for anything the agent got wrong.
/// </summary>
public interface ILocalWorkloadRegistry
{
    /// <summary><c>kubernetes</c> or <c>manifests</c> (told to agents by Describe).</summary>
    string Mode { get; }

    /// <summary>Whether an agent must present a token (manifests mode, agents not on loopback).</summary>
    bool TokenRequired { get; }

    /// <summary>
    /// Checks that the agent of <paramref name="hello"/>, connecting from <paramref name="peer"/>, may act for the
    /// workload, and that its Service and ports exist; returns what the broker serves. Throws an
    /// <see cref="Grpc.Core.RpcException"/> (NotFound, PermissionDenied, FailedPrecondition, InvalidArgument) otherwise.
    /// </summary>
    Task<WorkloadClaim> ClaimAsync(Hello hello, IPAddress? peer, CancellationToken cancellationToken);

    /// <summary>The agent's stream is up on this replica at <paramref name="placement"/>: its routes go there now.</summary>
    Task ConnectedAsync(WorkloadClaim claim, TunnelPlacement placement, CancellationToken cancellationToken);

    /// <summary>
    /// The agent was heard from at <paramref name="at"/>. Returns false when the workload is no longer this agent's —
    /// its secret hash was replaced (another agent took it over with <c>--force</c>) or another replica holds its
    /// tunnel now — and the broker then ends the stream.
    /// </summary>
    Task<bool> HeartbeatAsync(WorkloadClaim claim, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// The agent's stream ended without a goodbye (the agent was killed, the laptop slept, its network dropped): the
    /// workload's routes are withdrawn now, so keyed requests reach the baseline, while its reservation — routing key,
    /// broker ports, claim — is kept for the reconnect grace; an agent that comes back in time is
    /// <see cref="ConnectedAsync"/> again with the same ports. Ignored when <paramref name="claim"/> is no longer the one
    /// connected (a reconnect, here or through another replica, came first).
    /// </summary>
    Task DetachedAsync(WorkloadClaim claim, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The workload is no longer served here: the agent said goodbye (<paramref name="goodbye"/>; its routes are withdrawn
    /// now), or it stayed away longer than the reconnect grace.
    /// </summary>
    Task ReleasedAsync(WorkloadClaim claim, bool goodbye, CancellationToken cancellationToken);

    /// <summary>
    /// Where an outbound connection of the workload to <paramref name="service"/>:<paramref name="port"/> goes; throws
    /// <see cref="TunnelDialException"/> (Forbidden) for a target the workload may not reach, DialFailed when it has no endpoint.
    /// </summary>
    Task<IPEndPoint> ResolveOutboundAsync(WorkloadClaim claim, string service, int port, CancellationToken cancellationToken);
}

/// <summary>A LocalWorkload an agent may serve, as the registry checked it.</summary>
/// <param name="Namespace">Its namespace.</param>
/// <param name="Name">Its name.</param>
/// <param name="RoutingKey">The routing key in force.</param>
/// <param name="Sandbox">The Sandbox it joins, if any (outbound connections prefer that Sandbox's forks).</param>
/// <param name="Service">The baseline Service it stands in for.</param>
/// <param name="Ports">The Service ports it serves.</param>
/// <param name="SessionId">The agent process's session.</param>
/// <param name="Expose">Services of other namespaces (<c>name.namespace</c>) the workload may open outbound connections to.</param>
public sealed record WorkloadClaim(string Namespace, string Name, string RoutingKey, string? Sandbox, string Service, IReadOnlyList<ClaimedPort> Ports, string SessionId, IReadOnlyList<string> Expose)
{
    /// <summary>The secret hash the agent proved (Kubernetes mode): an agent that proves a newer one takes the workload over.</summary>
    public string? SecretHash { get; init; }

    /// <summary>
    /// Whether the agent asked to take the workload over from another agent's live stream (manifests mode:
    /// <c>sandboxctl local connect --force</c>; in Kubernetes mode the replaced secret hash says so instead).
    /// </summary>
    public bool TakesOver { get; init; }

    /// <summary>The workload's previews with their URLs (told to the agent in Welcome).</summary>
    public IReadOnlyList<ClaimedPreview> Previews { get; init; } = [];

    /// <summary><c>namespace/name</c>.</summary>
    public string Key => $"{Namespace}/{Name}";
}

/// <summary>A Service port a LocalWorkload serves.</summary>
/// <param name="Port">The Service port.</param>
/// <param name="Protocol"><c>http</c>, <c>grpc</c> or <c>tcp</c>.</param>
public sealed record ClaimedPort(int Port, string Protocol);

/// <summary>A preview URL of a LocalWorkload's port.</summary>
/// <param name="Port">The Service port it opens.</param>
/// <param name="Access"><c>public</c>, <c>shared</c> or <c>personal</c>.</param>
/// <param name="Url">Where the gateway serves it, or null while the control plane serves no previews (no preview domain).</param>
public sealed record ClaimedPreview(int Port, string Access, string? Url);

/// <summary>Where data planes reach a workload through this replica.</summary>
/// <param name="Replica">This replica's name.</param>
/// <param name="Address">The address they dial (this replica's pod address).</param>
/// <param name="Ports">Workload port → broker port.</param>
/// <param name="ConnectedAt">When the agent connected.</param>
public sealed record TunnelPlacement(string Replica, string Address, IReadOnlyList<(int Port, int BrokerPort)> Ports, DateTimeOffset ConnectedAt);
