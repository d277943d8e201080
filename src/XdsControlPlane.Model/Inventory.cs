using System.Text.Json.Serialization;

namespace XdsControlPlane.Model;

/// <summary>The part of a <c>core/v1 Service</c> the control plane reads; other fields are ignored.</summary>
public sealed record KubeService : IManifestObject
{
    /// <summary>The kind name.</summary>
    public const string KindName = "Service";

    /// <inheritdoc />
    public ObjectMeta Metadata { get; init; } = new();

    /// <summary>The Service's ports and addresses.</summary>
    public KubeServiceSpec Spec { get; init; } = new();

    /// <inheritdoc />
    [JsonIgnore]
    public ResourceKey Key => new(KindName, Metadata.Namespace, Metadata.Name);

    /// <summary>The port numbered <paramref name="port"/>, if the Service has it.</summary>
    public KubeServicePort? FindPort(int port) => Spec.Ports.FirstOrDefault(p => p.Port == port);

    /// <summary>
    /// Whether RouteGroups, Sandboxes and LocalWorkloads in namespace <paramref name="ns"/> may route this Service
    /// (intercept its keyed requests, or send requests to it): always from its own namespace, from others only when
    /// its annotation <see cref="SandboxLabels.AllowRoutesFrom"/> lists <paramref name="ns"/> or is <c>*</c>. Only who
    /// may edit the Service can grant it, as with Gateway API's ReferenceGrant in the target's namespace.
    /// </summary>
    public bool AllowsRoutesFrom(string ns)
    {
        if (ns == Metadata.Namespace)
        {
            return true;
        }

        return Metadata.Annotations.TryGetValue(SandboxLabels.AllowRoutesFrom, out var allowed)
            && allowed.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Any(entry => entry == "*" || entry == ns);
    }
}

/// <summary>The spec of a <see cref="KubeService"/>.</summary>
public sealed record KubeServiceSpec
{
    /// <summary>The cluster IP (<c>None</c> for headless Services).</summary>
    public string? ClusterIP { get; init; }

    /// <summary>The Service's ports.</summary>
    public IReadOnlyList<KubeServicePort> Ports { get; init; } = [];
}

/// <summary>A Service port.</summary>
public sealed record KubeServicePort
{
    /// <summary>The port's name; required when the Service has several.</summary>
    public string? Name { get; init; }

    /// <summary>The port number.</summary>
    public int Port { get; init; }

    /// <summary><c>TCP</c> (default), <c>UDP</c> or <c>SCTP</c>.</summary>
    public string Protocol { get; init; } = "TCP";

    /// <summary>The application protocol (<c>http</c>, <c>grpc</c>, <c>kubernetes.io/h2c</c>, <c>tcp</c>…).</summary>
    public string? AppProtocol { get; init; }
}

/// <summary>The part of a <c>discovery.k8s.io/v1 EndpointSlice</c> the control plane reads.</summary>
public sealed record EndpointSlice : IManifestObject
{
    /// <summary>The kind name.</summary>
    public const string KindName = "EndpointSlice";

    /// <summary>The label naming the Service a slice belongs to.</summary>
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <inheritdoc />
    public ObjectMeta Metadata { get; init; } = new();

    /// <summary><c>IPv4</c>, <c>IPv6</c> or <c>FQDN</c>.</summary>
    public string AddressType { get; init; } = "IPv4";

    /// <summary>The endpoints.</summary>
    public IReadOnlyList<SliceEndpoint> Endpoints { get; init; } = [];

    /// <summary>The ports every endpoint serves.</summary>
    public IReadOnlyList<SlicePort> Ports { get; init; } = [];

    /// <inheritdoc />
    [JsonIgnore]
    public ResourceKey Key => new(KindName, Metadata.Namespace, Metadata.Name);

    /// <summary>The Service this slice belongs to, from its <see cref="ServiceNameLabel"/> label.</summary>
    [JsonIgnore]
    public string? ServiceName => Metadata.Labels.GetValueOrDefault(ServiceNameLabel);
}

/// <summary>One endpoint of a slice.</summary>
public sealed record SliceEndpoint
{
    /// <summary>Its addresses (the first is used).</summary>
    public IReadOnlyList<string> Addresses { get; init; } = [];

    /// <summary>Readiness.</summary>
    public EndpointConditions? Conditions { get; init; }

    /// <summary>The zone it runs in.</summary>
    public string? Zone { get; init; }

    /// <summary>The node it runs on.</summary>
    public string? NodeName { get; init; }

    /// <summary>Whether it should receive traffic: not when <c>ready</c> is false (absent means ready).</summary>
    [JsonIgnore]
    public bool IsReady => Conditions?.Ready != false;
}

/// <summary>Endpoint conditions.</summary>
public sealed record EndpointConditions
{
    /// <summary>Ready to serve.</summary>
    public bool? Ready { get; init; }

    /// <summary>Terminating.</summary>
    public bool? Terminating { get; init; }
}

/// <summary>A port of an EndpointSlice: matched to a Service port by name.</summary>
public sealed record SlicePort
{
    /// <summary>The Service port name it serves (empty for a single unnamed port).</summary>
    public string? Name { get; init; }

    /// <summary>The port endpoints listen on.</summary>
    public int? Port { get; init; }

    /// <summary><c>TCP</c>, <c>UDP</c> or <c>SCTP</c>.</summary>
    public string Protocol { get; init; } = "TCP";

    /// <summary>The application protocol.</summary>
    public string? AppProtocol { get; init; }
}
