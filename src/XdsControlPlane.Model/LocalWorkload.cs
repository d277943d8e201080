using System.Text.Json.Serialization;

namespace XdsControlPlane.Model;

/// <summary>
/// <c>sandboxctl.io/v1alpha1 LocalWorkload</c>: a developer's laptop standing in for a baseline Service under a
/// routing key, reached through the tunnel broker.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[CustomResource("localworkloads", "lw")]
[PrinterColumn("Service", "string", ".spec.service")]
[PrinterColumn("Phase", "string", ".status.phase")]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed record LocalWorkload : IManifestObject
{
    /// <summary>The kind name.</summary>
    public const string KindName = "LocalWorkload";

    /// <summary>Always <see cref="ApiVersions.Sandboxctl"/>.</summary>
    public string ApiVersion { get; init; } = ApiVersions.Sandboxctl;

    /// <summary>Always <see cref="KindName"/>.</summary>
    public string Kind { get; init; } = KindName;

    /// <inheritdoc />
    public ObjectMeta Metadata { get; init; } = new();

    /// <summary>What the laptop stands in for.</summary>
    public LocalWorkloadSpec Spec { get; init; } = new();

    /// <summary>Tunnel state written by the broker.</summary>
    public LocalWorkloadStatus? Status { get; init; }

    /// <inheritdoc />
    [JsonIgnore]
    public ResourceKey Key => new(KindName, Metadata.Namespace, Metadata.Name);

    /// <summary>
    /// Whether its routes are in force: while an agent's tunnel leads to it (the broker wrote the tunnel's address to
    /// its status) and it is neither <c>Disconnected</c> nor <c>Failed</c>. A workload no agent ever connected for
    /// (one written in a manifest file, one just created) routes nothing: requests keep going to the baseline.
    /// </summary>
    [JsonIgnore]
    public bool IsRoutable => Status is { Phase: null or "" or LocalWorkloadPhase.Pending or LocalWorkloadPhase.Connected, Tunnel.Address.Length: > 0 };

    /// <summary>
    /// What <c>spec.secretHash</c> holds for <paramref name="secret"/>: <c>sha256:</c> and the lowercase hex SHA-256 of its
    /// UTF-8 bytes. The agent writes it, the broker compares against it; the secret itself is never stored.
    /// </summary>
    public static string HashSecret(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
    }

    /// <summary>The broker endpoint that leads to workload port <paramref name="port"/>, while <see cref="IsRoutable"/>; else null.</summary>
    public (string Address, int Port)? TunnelEndpoint(int port) =>
        IsRoutable && Status!.Tunnel!.Ports.FirstOrDefault(p => p.Port == port) is { BrokerPort: > 0 } found ? (Status.Tunnel.Address!, found.BrokerPort) : null;
}

/// <summary>The spec of a <see cref="LocalWorkload"/>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[SchemaRule("has(self.sandbox) != has(self.routingKey)", "exactly one of sandbox or routingKey")]
public sealed record LocalWorkloadSpec
{
    /// <summary>The Sandbox whose routing key it joins (or give <see cref="RoutingKey"/>).</summary>
    [SchemaPattern(SchemaPatterns.DnsLabel)]
    public string? Sandbox { get; init; }

    /// <summary>The routing key (or give <see cref="Sandbox"/>).</summary>
    [SchemaPattern(SchemaPatterns.RoutingKey)]
    public string? RoutingKey { get; init; }

    /// <summary>The baseline Service it stands in for, in its namespace.</summary>
    [SchemaRequired]
    [SchemaPattern(SchemaPatterns.DnsLabel)]
    public string Service { get; init; } = "";

    /// <summary>The Service ports it serves.</summary>
    [SchemaRequired]
    [SchemaItems(1, 64)]
    public IReadOnlyList<LocalPort> Ports { get; init; } = [];

    /// <summary>
    /// <c>sha256:</c> and the hex SHA-256 of the secret the agent presents to the tunnel broker. The agent that
    /// creates the LocalWorkload (with the user's own credentials, so the cluster's RBAC decides who may) writes it;
    /// the secret itself is never stored.
    /// </summary>
    [SchemaPattern(SchemaPatterns.SecretHash)]
    public string? SecretHash { get; init; }

    /// <summary>
    /// Services of other namespaces the laptop may reach through the broker (<c>sandboxctl local connect --expose</c>);
    /// those of its own namespace it may reach anyway.
    /// </summary>
    [SchemaItems(0, ModelLimits.MaxExposedServices)]
    public IReadOnlyList<ExposedService> Expose { get; init; } = [];

    /// <summary>Preview URLs served by the gateway that open the laptop's port in a browser (the baseline while no tunnel leads to it).</summary>
    [SchemaItems(0, ModelLimits.MaxPreviews)]
    public IReadOnlyList<LocalPreview> Previews { get; init; } = [];

    /// <summary>The rate limit of each of its preview hosts; the server's <c>--preview-rate-limit</c> when absent.</summary>
    public PreviewRateLimit? PreviewRateLimit { get; init; }
}

/// <summary>A preview URL for one port of a LocalWorkload (the Service is its own <c>spec.service</c>).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record LocalPreview
{
    /// <summary>One of the workload's <c>spec.ports</c> (an <c>http</c> or <c>grpc</c> one).</summary>
    [SchemaRequired]
    [SchemaRange(1, 65535)]
    public int Port { get; init; }

    /// <summary><c>public</c>, <c>shared</c> or <c>personal</c>.</summary>
    [SchemaEnum(Preview.Public, Preview.Shared, Preview.Personal)]
    public string Access { get; init; } = Preview.Personal;
}

/// <summary>An in-cluster Service a LocalWorkload may open outbound connections to.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ExposedService
{
    /// <summary><c>name.namespace</c> (or <c>name</c> in the workload's namespace).</summary>
    [SchemaRequired]
    [SchemaPattern(SchemaPatterns.ServiceReference)]
    public string Service { get; init; } = "";
}

/// <summary>A port served by the laptop.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record LocalPort
{
    /// <summary>The protocol of an HTTP/1.1 port (the default).</summary>
    public const string Http = "http";

    /// <summary>The protocol of a gRPC (HTTP/2) port.</summary>
    public const string Grpc = "grpc";

    /// <summary>The protocol of a raw TCP port, reached through the tunnel only.</summary>
    public const string Tcp = "tcp";

    /// <summary>The Service port.</summary>
    [SchemaRequired]
    [SchemaRange(1, 65535)]
    public int Port { get; init; }

    /// <summary><c>http</c>, <c>grpc</c> or <c>tcp</c>.</summary>
    [SchemaEnum(Http, Grpc, Tcp)]
    public string Protocol { get; init; } = Http;
}

/// <summary>What the broker reports about a <see cref="LocalWorkload"/>.</summary>
public sealed record LocalWorkloadStatus
{
    /// <summary><c>Pending</c>, <c>Connected</c>, <c>Disconnected</c> or <c>Failed</c>.</summary>
    [SchemaEnum(LocalWorkloadPhase.Pending, LocalWorkloadPhase.Connected, LocalWorkloadPhase.Disconnected, LocalWorkloadPhase.Failed)]
    public string? Phase { get; init; }

    /// <summary>The routing key in force.</summary>
    public string? RoutingKey { get; init; }

    /// <summary>The tunnel to the laptop.</summary>
    public TunnelStatus? Tunnel { get; init; }

    /// <summary>The generation the status describes.</summary>
    public long? ObservedGeneration { get; init; }

    /// <summary>The preview URLs and their access levels (empty while the server has no <c>--preview-domain</c>).</summary>
    public IReadOnlyList<PreviewStatus> Previews { get; init; } = [];

    /// <summary><c>Accepted</c>, <c>Programmed</c>….</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [];
}

/// <summary>The values of <see cref="LocalWorkloadStatus.Phase"/>, written once for the broker, the status writer and the agent.</summary>
public static class LocalWorkloadPhase
{
    /// <summary>No agent has connected yet (also the phase of a status without one).</summary>
    public const string Pending = "Pending";

    /// <summary>An agent's tunnel leads to the workload and heartbeats arrive.</summary>
    public const string Connected = "Connected";

    /// <summary>The broker withdrew the tunnel, or heartbeats stopped: the routes are withdrawn.</summary>
    public const string Disconnected = "Disconnected";

    /// <summary>The workload cannot be served.</summary>
    public const string Failed = "Failed";
}
