namespace XdsControlPlane.Model;

/// <summary>
/// Everything translation reads: the service inventory (Services, EndpointSlices) and the routing resources
/// (RouteGroups, Sandboxes, LocalWorkloads), with lookups by namespace and name. Immutable.
/// </summary>
public sealed class RoutingInputs
{
    private readonly Dictionary<(string Namespace, string Name), KubeService> _services = [];
    private readonly Dictionary<(string Namespace, string Service), List<EndpointSlice>> _slices = [];
    private readonly Dictionary<(string Namespace, string Name), Sandbox> _sandboxes = [];
    private readonly Dictionary<(string Namespace, string Name), LocalWorkload> _localWorkloads = [];
    private readonly Dictionary<(string Namespace, string Sandbox, string Baseline), KubeService> _forkServices = [];

    /// <summary>Collects <paramref name="objects"/>; later objects with an existing key are ignored.</summary>
    public RoutingInputs(IEnumerable<IManifestObject> objects)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var routeGroups = new Dictionary<(string Namespace, string Name), RouteGroup>();
        foreach (var obj in objects)
        {
            var id = (obj.Metadata.Namespace, obj.Metadata.Name);
            switch (obj)
            {
                case KubeService service when _services.TryAdd(id, service):
                    if (service.Metadata.Labels.GetValueOrDefault(SandboxLabels.Sandbox) is { Length: > 0 } forkOwner
                        && service.Metadata.Labels.GetValueOrDefault(SandboxLabels.ForkOf) is { Length: > 0 } baseline)
                    {
                        _forkServices.TryAdd((service.Metadata.Namespace, forkOwner, baseline), service);
                    }

                    break;
                case EndpointSlice slice when slice.ServiceName is { } serviceName:
                    if (!_slices.TryGetValue((slice.Metadata.Namespace, serviceName), out var list))
                    {
                        _slices[(slice.Metadata.Namespace, serviceName)] = list = [];
                    }

                    if (!list.Exists(s => s.Metadata.Name == slice.Metadata.Name))
                    {
                        list.Add(slice);
                    }

                    break;
                case RouteGroup group:
                    routeGroups.TryAdd(id, group);
                    break;
                case Sandbox sandbox:
                    _sandboxes.TryAdd(id, sandbox);
                    break;
                case LocalWorkload workload:
                    _localWorkloads.TryAdd(id, workload);
                    break;
            }
        }

        foreach (var list in _slices.Values)
        {
            list.Sort((a, b) => string.CompareOrdinal(a.Metadata.Name, b.Metadata.Name));
        }

        Services = Sorted(_services.Values);
        EndpointSlices = Sorted(_slices.Values.SelectMany(list => list));
        RouteGroups = Sorted(routeGroups.Values);
        Sandboxes = Sorted(_sandboxes.Values);
        LocalWorkloads = Sorted(_localWorkloads.Values);
    }

    private RoutingInputs(RoutingInputs inventory, RouteGroup[] routeGroups)
    {
        _services = inventory._services;
        _slices = inventory._slices;
        _sandboxes = inventory._sandboxes;
        _localWorkloads = inventory._localWorkloads;
        _forkServices = inventory._forkServices;
        Services = inventory.Services;
        EndpointSlices = inventory.EndpointSlices;
        Sandboxes = inventory.Sandboxes;
        LocalWorkloads = inventory.LocalWorkloads;
        RouteGroups = routeGroups;
    }

    /// <summary>
    /// These inputs with <paramref name="group"/> added, or replacing the RouteGroup of the same namespace and name;
    /// the inventory is shared, so this costs a copy of the RouteGroup list (what a source calls for one change).
    /// </summary>
    public RoutingInputs WithRouteGroup(RouteGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        var groups = (RouteGroup[])RouteGroups;
        var index = Array.BinarySearch(groups, group, ByNamespaceAndName<RouteGroup>.Instance);
        RouteGroup[] copy;
        if (index >= 0)
        {
            copy = (RouteGroup[])groups.Clone();
            copy[index] = group;
        }
        else
        {
            index = ~index;
            copy = [.. groups.AsSpan(0, index), group, .. groups.AsSpan(index)];
        }

        return new RoutingInputs(this, copy);
    }

    private sealed class ByNamespaceAndName<T> : IComparer<T>
        where T : IManifestObject
    {
        public static ByNamespaceAndName<T> Instance { get; } = new();

        public int Compare(T? a, T? b)
        {
            var byNamespace = string.CompareOrdinal(a!.Metadata.Namespace, b!.Metadata.Namespace);
            return byNamespace != 0 ? byNamespace : string.CompareOrdinal(a.Metadata.Name, b.Metadata.Name);
        }
    }

    private static T[] Sorted<T>(IEnumerable<T> objects)
        where T : IManifestObject
    {
        T[] sorted = [.. objects];
        Array.Sort(sorted, ByNamespaceAndName<T>.Instance);
        return sorted;
    }

    /// <summary>Services, ordered by namespace and name.</summary>
    public IReadOnlyList<KubeService> Services { get; }

    /// <summary>EndpointSlices, ordered by namespace and name.</summary>
    public IReadOnlyList<EndpointSlice> EndpointSlices { get; }

    /// <summary>RouteGroups, ordered by namespace and name.</summary>
    public IReadOnlyList<RouteGroup> RouteGroups { get; }

    /// <summary>Sandboxes, ordered by namespace and name.</summary>
    public IReadOnlyList<Sandbox> Sandboxes { get; }

    /// <summary>LocalWorkloads, ordered by namespace and name.</summary>
    public IReadOnlyList<LocalWorkload> LocalWorkloads { get; }

    /// <summary>The Service <paramref name="name"/> in <paramref name="ns"/>.</summary>
    public KubeService? FindService(string ns, string name) => _services.GetValueOrDefault((ns, name));

    /// <summary>The EndpointSlices of a Service, ordered by name.</summary>
    public IReadOnlyList<EndpointSlice> SlicesOf(string ns, string service) =>
        _slices.TryGetValue((ns, service), out var list) ? list : [];

    /// <summary>The Sandbox <paramref name="name"/> in <paramref name="ns"/>.</summary>
    public Sandbox? FindSandbox(string ns, string name) => _sandboxes.GetValueOrDefault((ns, name));

    /// <summary>The LocalWorkload <paramref name="name"/> in <paramref name="ns"/>.</summary>
    public LocalWorkload? FindLocalWorkload(string ns, string name) => _localWorkloads.GetValueOrDefault((ns, name));

    /// <summary>The Service that is <paramref name="sandbox"/>'s fork of the baseline Service <paramref name="baseline"/>.</summary>
    public KubeService? FindForkService(string ns, string sandbox, string baseline) =>
        _forkServices.GetValueOrDefault((ns, sandbox, baseline));

    /// <summary>The fork Services of <paramref name="sandbox"/>, ordered by the baseline Service's name.</summary>
    public IEnumerable<(string Baseline, KubeService Fork)> ForkServicesOf(Sandbox sandbox)
    {
        ArgumentNullException.ThrowIfNull(sandbox);
        return _forkServices
            .Where(f => f.Key.Namespace == sandbox.Metadata.Namespace && f.Key.Sandbox == sandbox.Metadata.Name)
            .Select(f => (f.Key.Baseline, f.Value))
            .OrderBy(f => f.Baseline, StringComparer.Ordinal);
    }

    /// <summary>Splits <c>name</c> or <c>name.namespace</c>; the namespace defaults to <paramref name="defaultNamespace"/>.</summary>
    public static (string Namespace, string Name) ParseServiceReference(string reference, string defaultNamespace)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var dot = reference.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? (defaultNamespace, reference) : (reference[(dot + 1)..], reference[..dot]);
    }
}
