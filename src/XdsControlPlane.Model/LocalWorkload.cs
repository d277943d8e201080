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
    /// Whether its routes are in force: not while <c>Disconnected</c> or <c>Failed</c>. A workload without status
    /// (as written in a manifest file) counts as connected.
    /// </summary>
    [JsonIgnore]
    public bool IsRoutable => Status?.Phase is null or "" or "Pending" or "Connected";
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
}

/// <summary>A port served by the laptop.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record LocalPort
{
    /// <summary>The Service port.</summary>
    [SchemaRequired]
    [SchemaRange(1, 65535)]
    public int Port { get; init; }

    /// <summary><c>http</c>, <c>grpc</c> or <c>tcp</c>.</summary>
    [SchemaEnum("http", "grpc", "tcp")]
    public string Protocol { get; init; } = "http";
}

/// <summary>What the broker reports about a <see cref="LocalWorkload"/>.</summary>
public sealed record LocalWorkloadStatus
{
    /// <summary><c>Pending</c>, <c>Connected</c>, <c>Disconnected</c> or <c>Failed</c>.</summary>
    [SchemaEnum("Pending", "Connected", "Disconnected", "Failed")]
    public string? Phase { get; init; }

    /// <summary>The routing key in force.</summary>
    public string? RoutingKey { get; init; }

    /// <summary>The tunnel to the laptop.</summary>
    public TunnelStatus? Tunnel { get; init; }

    /// <summary>The generation the status describes.</summary>
    public long? ObservedGeneration { get; init; }

    /// <summary><c>Accepted</c>, <c>Programmed</c>….</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [];
}
