namespace XdsControlPlane.Model;

/// <summary>A condition in the shape of Kubernetes <c>metav1.Condition</c>.</summary>
public sealed record Condition
{
    /// <summary><c>Accepted</c>, <c>ResolvedRefs</c>, <c>Programmed</c>, <c>Ready</c>…</summary>
    [SchemaRequired]
    public string Type { get; init; } = "";

    /// <summary><c>True</c>, <c>False</c> or <c>Unknown</c>.</summary>
    [SchemaRequired]
    [SchemaEnum("True", "False", "Unknown")]
    public string Status { get; init; } = "Unknown";

    /// <summary>A CamelCase reason.</summary>
    public string? Reason { get; init; }

    /// <summary>What happened, for people (field paths of invalid input).</summary>
    public string? Message { get; init; }

    /// <summary>The generation the condition was computed for.</summary>
    public long? ObservedGeneration { get; init; }

    /// <summary>When the status last changed.</summary>
    [SchemaFormat("date-time")]
    public string? LastTransitionTime { get; init; }
}

/// <summary>What the controller reports about a <see cref="RouteGroup"/>.</summary>
public sealed record RouteGroupStatus
{
    /// <summary>The generation the conditions describe.</summary>
    public long? ObservedGeneration { get; init; }

    /// <summary><c>Accepted</c>, <c>ResolvedRefs</c>, <c>Programmed</c>.</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [];
}

/// <summary>The readiness of one fork of a <see cref="Sandbox"/>.</summary>
public sealed record ForkStatus
{
    /// <summary>The baseline workload forked.</summary>
    public string Name { get; init; } = "";

    /// <summary>The fork's Deployment.</summary>
    public string? Deployment { get; init; }

    /// <summary>The fork's Services (one per baseline Service that selects the baseline's pods).</summary>
    public IReadOnlyList<string> Services { get; init; } = [];

    /// <summary>All of its pods are ready.</summary>
    public bool Ready { get; init; }

    /// <summary>Why not, when not ready.</summary>
    public string? Message { get; init; }
}

/// <summary>The tunnel of a <see cref="LocalWorkload"/>.</summary>
public sealed record TunnelStatus
{
    /// <summary>When the agent connected.</summary>
    [SchemaFormat("date-time")]
    public string? ConnectedAt { get; init; }

    /// <summary>The last heartbeat; 30 s without one means Disconnected.</summary>
    [SchemaFormat("date-time")]
    public string? LastHeartbeat { get; init; }

    /// <summary>The control-plane replica holding the agent's stream.</summary>
    public string? Replica { get; init; }

    /// <summary>The address data planes dial to reach the laptop: the holding replica's (pod) address.</summary>
    public string? Address { get; init; }

    /// <summary>For each workload port, the broker port on <see cref="Address"/> that leads to it.</summary>
    [SchemaItems(0, 64)]
    public IReadOnlyList<TunnelPort> Ports { get; init; } = [];
}

/// <summary>Where the broker accepts connections for one port of a <see cref="LocalWorkload"/>.</summary>
public sealed record TunnelPort
{
    /// <summary>The workload (Service) port.</summary>
    [SchemaRange(1, 65535)]
    public int Port { get; init; }

    /// <summary>The broker's port on <see cref="TunnelStatus.Address"/>.</summary>
    [SchemaRange(1, 65535)]
    public int BrokerPort { get; init; }
}
