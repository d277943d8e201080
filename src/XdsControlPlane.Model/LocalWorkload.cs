using System.Text.Json.Serialization;

namespace XdsControlPlane.Model;

/// <summary>
/// <c>sandboxctl.io/v1alpha1 LocalWorkload</c>: a developer's laptop standing in for a baseline Service under a
/// routing key, reached through the tunnel broker.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
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
public sealed record LocalWorkloadSpec
{
    /// <summary>The Sandbox whose routing key it joins (or give <see cref="RoutingKey"/>).</summary>
    public string? Sandbox { get; init; }

    /// <summary>The routing key (or give <see cref="Sandbox"/>).</summary>
    public string? RoutingKey { get; init; }

    /// <summary>The baseline Service it stands in for, in its namespace.</summary>
    public string Service { get; init; } = "";

    /// <summary>The Service ports it serves.</summary>
    public IReadOnlyList<LocalPort> Ports { get; init; } = [];
}

/// <summary>A port served by the laptop.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record LocalPort
{
    /// <summary>The Service port.</summary>
    public int Port { get; init; }

    /// <summary><c>http</c>, <c>grpc</c> or <c>tcp</c>.</summary>
    public string Protocol { get; init; } = "http";
}

/// <summary>What the broker reports about a <see cref="LocalWorkload"/>.</summary>
public sealed record LocalWorkloadStatus
{
    /// <summary><c>Pending</c>, <c>Connected</c>, <c>Disconnected</c> or <c>Failed</c>.</summary>
    public string? Phase { get; init; }

    /// <summary>The routing key in force.</summary>
    public string? RoutingKey { get; init; }
}
