namespace XdsControlPlane.Server;

/// <summary>Settings of the Kubernetes mode (<see cref="ServerServiceCollectionExtensions.AddKubernetesSources"/>), configuration section <c>Kubernetes</c>.</summary>
public sealed class KubernetesSourcesOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string Section = "Kubernetes";

    /// <summary>Serve the RouteGroups, Sandboxes, LocalWorkloads, Services and EndpointSlices of the cluster.</summary>
    public bool Enabled { get; set; }

    /// <summary>The kubeconfig file (default: the files in <c>KUBECONFIG</c>, merged as kubectl does; else in a pod its service account; else <c>~/.kube/config</c>).</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>The kubeconfig context (default: the current context).</summary>
    public string? Context { get; set; }

    /// <summary>The namespaces read and whose Sandboxes are reconciled; empty means all.</summary>
    public IReadOnlyList<string> Namespaces { get; set; } = [];

    /// <summary>The control plane's own namespace: where the leader Lease and the per-replica ACK Leases live.</summary>
    public string LeaseNamespace { get; set; } = "sandboxctl-system";

    /// <summary>This replica's identity in the Leases (in a pod, its name).</summary>
    public string Identity { get; set; } = Environment.MachineName;

    /// <summary>Status writes per second at most, on average (client-side, like client-go's QPS; docs/kubernetes.md "Status").</summary>
    public double StatusQps { get; set; } = new XdsControlPlane.Kubernetes.KubernetesStatusOptions().StatusQps;

    /// <summary>Status writes at most in a burst (like client-go's burst).</summary>
    public int StatusBurst { get; set; } = new XdsControlPlane.Kubernetes.KubernetesStatusOptions().StatusBurst;

    /// <summary>Status writes in flight at most.</summary>
    public int StatusConcurrency { get; set; } = new XdsControlPlane.Kubernetes.KubernetesStatusOptions().StatusConcurrency;

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        foreach (var problem in new XdsControlPlane.Kubernetes.KubernetesStatusOptions { StatusQps = StatusQps, StatusBurst = StatusBurst, StatusConcurrency = StatusConcurrency }.Validate())
        {
            yield return problem;
        }

        if (string.IsNullOrWhiteSpace(LeaseNamespace))
        {
            yield return "LeaseNamespace must be a namespace name.";
        }

        if (string.IsNullOrWhiteSpace(Identity))
        {
            yield return "Identity must not be empty.";
        }

        foreach (var ns in Namespaces.Where(string.IsNullOrWhiteSpace))
        {
            yield return $"Namespaces must be namespace names, got '{ns}'.";
        }
    }
}
