using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>
/// Plans a gateway virtual host per preview of every Sandbox and LocalWorkload (<see cref="PreviewSite"/>) while
/// <see cref="TranslationOptions.PreviewDomain"/> is set. Each answers its host name (and with any port) with one route,
/// <c>/</c>, to the owner's version of the previewed Service port — the Sandbox's fork, the laptop's tunnel cluster of a
/// LocalWorkload that is routable, else the baseline — setting the routing key as <c>x-routing-key</c> and as the only
/// <c>baggage</c> member, replacing what the client sent, so a browser cannot steer into another sandbox and every
/// later hop routes by the owner's key. Routes have no timeout (WebSocket upgrades, long polls). Pure: a function of
/// the Services, Sandboxes and LocalWorkloads; a preview whose Service or port does not resolve gets no host (validation
/// reports it).
/// </summary>
internal sealed class PreviewHostPlanner(TranslationOptions options) : IVirtualHostPlanner
{
    /// <summary>The name of every preview host's one route.</summary>
    public const string RouteName = "preview";

    /// <inheritdoc />
    public IReadOnlyList<PlannedVirtualHost> Plan(RoutingInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (!options.PreviewsEnabled)
        {
            return [];
        }

        var hosts = new List<PlannedVirtualHost>();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var sandbox in inputs.Sandboxes)
        {
            foreach (var site in PreviewSite.Of(sandbox, options.PreviewDomain, options.PreviewSalt))
            {
                if (SandboxCluster(sandbox, site, inputs) is { } cluster)
                {
                    Add(hosts, taken, site, cluster, sandbox.EffectiveRoutingKey, sandbox.Spec.PreviewRateLimit);
                }
            }
        }

        foreach (var workload in inputs.LocalWorkloads)
        {
            var key = workload.Spec.RoutingKey ?? (workload.Spec.Sandbox is { } sandbox ? inputs.FindSandbox(workload.Metadata.Namespace, sandbox)?.EffectiveRoutingKey : null);
            foreach (var site in PreviewSite.Of(workload, options.PreviewDomain, options.PreviewSalt))
            {
                if (key is not null && LocalWorkloadCluster(workload, site, inputs) is { } cluster)
                {
                    Add(hosts, taken, site, cluster, key, workload.Spec.PreviewRateLimit);
                }
            }
        }

        return hosts;
    }

    private void Add(List<PlannedVirtualHost> hosts, HashSet<string> taken, PreviewSite site, string cluster, string key, PreviewRateLimit? limit)
    {
        // Hash collisions of two owners' hosts are as unlikely as SHA-256's, but a route configuration with one domain
        // twice is refused whole: the first keeps it.
        if (!taken.Add(site.Host))
        {
            return;
        }

        var headers = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [options.RoutingKeyHeader] = key,
            ["baggage"] = $"{options.BaggageMember}={key}",
        };
        var preview = new PlannedPreview(site, limit?.RequestsPerSecond ?? options.PreviewRequestsPerSecond, limit?.Burst ?? options.PreviewBurst);
        hosts.Add(new PlannedVirtualHost(site.Host, [site.Host, site.Host + ":*"], [new PlannedHostRoute(RouteName, "/", cluster, headers)], preview));
    }

    /// <summary>The Sandbox's fork of the previewed port when it has one, else the baseline's; null when the baseline port cannot be routed.</summary>
    private string? SandboxCluster(Sandbox sandbox, PreviewSite site, RoutingInputs inputs)
    {
        var ns = sandbox.Metadata.Namespace;
        var (serviceNs, name) = RoutingInputs.ParseServiceReference(site.Service, ns);
        if (BaselinePort(inputs, serviceNs, name, site.Port, ns) is not { } baseline)
        {
            return null;
        }

        // Forks live in the Sandbox's namespace and stand in for a Service of that namespace.
        if (serviceNs == ns && inputs.FindForkService(ns, sandbox.Metadata.Name, name) is { } fork && fork.FindPort(site.Port) is { Protocol: "TCP" })
        {
            return new ServicePortId(ns, fork.Metadata.Name, site.Port).ClusterName(options.ClusterDomain);
        }

        return baseline.ClusterName(options.ClusterDomain);
    }

    /// <summary>
    /// The laptop's tunnel cluster while the workload routes that port (the conditions under which translation builds
    /// the cluster, <see cref="RoutePlanner"/>), else the baseline's; null when the baseline port cannot be routed.
    /// </summary>
    private string? LocalWorkloadCluster(LocalWorkload workload, PreviewSite site, RoutingInputs inputs)
    {
        var ns = workload.Metadata.Namespace;
        if (BaselinePort(inputs, ns, site.Service, site.Port, ns) is not { } baseline)
        {
            return null;
        }

        var served = (workload.Spec.Ports ?? []).FirstOrDefault(p => p?.Port == site.Port);
        if (served is null || served.Protocol == LocalPort.Tcp)
        {
            return null;
        }

        return workload.IsRoutable ? RoutePlanner.LocalClusterName(workload, site.Port) : baseline.ClusterName(options.ClusterDomain);
    }

    /// <summary>The baseline Service port when it exists, carries HTTP and allows routes from <paramref name="from"/>; else null.</summary>
    private static ServicePortId? BaselinePort(RoutingInputs inputs, string ns, string name, int port, string from)
    {
        var service = inputs.FindService(ns, name);
        if (service is null || !service.AllowsRoutesFrom(from) || service.FindPort(port) is not { Protocol: "TCP" } found || !PortProtocols.Of(found).IsHttp())
        {
            return null;
        }

        return new ServicePortId(ns, name, port);
    }
}
