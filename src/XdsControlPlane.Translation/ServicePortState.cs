using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>One TCP port of a Service, classified: computed once per Service object.</summary>
/// <param name="Id">The port's identity.</param>
/// <param name="Port">The port as the Service declares it.</param>
/// <param name="Protocol">How it is carried.</param>
/// <param name="Primary">Whether it is the Service's first HTTP port (the one port-less host names go to).</param>
internal sealed record PortSlot(ServicePortId Id, KubeServicePort Port, PortProtocol Protocol, bool Primary);

/// <summary>
/// What translation knows about one Service port: its Service, whether its short name is unique, and its keyed routes
/// in the order they are tried. A new instance means something changed; an unchanged port keeps its instance, so
/// reference equality says "nothing to rebuild".
/// </summary>
/// <param name="Service">The Service object.</param>
/// <param name="Slot">The port.</param>
/// <param name="ShortNameUnique">Whether no other namespace has a Service of the same name (so <c>svc</c> alone is a domain).</param>
/// <param name="Routes">The keyed routes, most specific first (<see cref="PlannedRoute.CompareFor"/>).</param>
/// <param name="Problems">Routes that can never match (<see cref="ShadowedRoutes"/>).</param>
internal sealed record ServicePortState(KubeService Service, PortSlot Slot, bool ShortNameUnique, PlannedRoute[] Routes, ManifestProblem[] Problems)
{
    public ServicePortId Id => Slot.Id;

    public KubeServicePort Port => Slot.Port;

    public PortProtocol Protocol => Slot.Protocol;

    public bool Primary => Slot.Primary;

    /// <summary>Whether <paramref name="other"/> would be translated to the same virtual hosts (same Service, names and routes).</summary>
    public bool SameRouting(ServicePortState other) =>
        ReferenceEquals(this, other)
        || (ReferenceEquals(Service, other.Service) && ShortNameUnique == other.ShortNameUnique && Primary == other.Primary
            && Routes.AsSpan().SequenceEqual(other.Routes, ReferenceEqualityComparer.Instance));
}

/// <summary>Every Service port of one translation, in Service then port order, found by id.</summary>
internal sealed class ServicePortTable
{
    private readonly ServicePortState[] _ports;
    private readonly Dictionary<ServicePortId, int> _positions;

    public ServicePortTable(ServicePortState[] ports)
    {
        _ports = ports;
        _positions = new Dictionary<ServicePortId, int>(ports.Length);
        for (var i = 0; i < ports.Length; i++)
        {
            _positions[ports[i].Id] = i;
        }
    }

    /// <summary>The ports, in order.</summary>
    public IReadOnlyList<ServicePortState> All => _ports;

    public bool TryGet(ServicePortId id, out ServicePortState state)
    {
        if (_positions.TryGetValue(id, out var position))
        {
            state = _ports[position];
            return true;
        }

        state = null!;
        return false;
    }

    public bool Contains(ServicePortId id) => _positions.ContainsKey(id);

    /// <summary>Replaces the state of an existing port (an incremental update; the set of ports is unchanged).</summary>
    public void Replace(ServicePortState state) => _ports[_positions[state.Id]] = state;
}

/// <summary>
/// The per-port state kept between translations: each Service object's port layout, and each port's last state with
/// the unsorted routes it was made from, so a port whose Service and routes are the same objects keeps its
/// <see cref="ServicePortState"/> instance (and with it every virtual host and resource built from it).
/// </summary>
internal sealed class ServicePortStates
{
    private Dictionary<ServicePortId, Entry> _entries = [];
    private Dictionary<KubeService, PortSlot[]> _layouts = new(ReferenceEqualityComparer.Instance);

    /// <summary>The state of every port of <paramref name="inputs"/>' Services, with the routes planned for each.</summary>
    public ServicePortTable Build(RoutingInputs inputs, Dictionary<ServicePortId, List<PlannedRoute>> routesByPort)
    {
        var nameCounts = new Dictionary<string, int>(inputs.Services.Count, StringComparer.Ordinal);
        foreach (var service in inputs.Services)
        {
            nameCounts[service.Metadata.Name] = nameCounts.GetValueOrDefault(service.Metadata.Name) + 1;
        }

        var ports = new List<ServicePortState>(_entries.Count);
        var entries = new Dictionary<ServicePortId, Entry>(_entries.Count);
        var layouts = new Dictionary<KubeService, PortSlot[]>(inputs.Services.Count, ReferenceEqualityComparer.Instance);
        foreach (var service in inputs.Services)
        {
            if (!_layouts.TryGetValue(service, out var slots))
            {
                slots = Layout(service);
            }

            layouts[service] = slots;
            var shortNameUnique = nameCounts[service.Metadata.Name] == 1;
            foreach (var slot in slots)
            {
                var entry = _entries.GetValueOrDefault(slot.Id) ?? new Entry();
                entries[slot.Id] = entry;
                ports.Add(StateOf(service, slot, shortNameUnique, routesByPort.GetValueOrDefault(slot.Id), entry));
            }
        }

        _entries = entries;
        _layouts = layouts;
        return new ServicePortTable([.. ports]);
    }

    /// <summary>The state of <paramref name="current"/>'s port once its routes are <paramref name="unsorted"/> (the same instance if they did not change).</summary>
    public ServicePortState Refresh(ServicePortState current, List<PlannedRoute>? unsorted) =>
        StateOf(current.Service, current.Slot, current.ShortNameUnique, unsorted, _entries[current.Id]);

    private static ServicePortState StateOf(KubeService service, PortSlot slot, bool shortNameUnique, List<PlannedRoute>? unsorted, Entry entry)
    {
        var state = entry.State;
        if (state is null || !ReferenceEquals(state.Service, service) || state.ShortNameUnique != shortNameUnique || !ReferenceLists.Equal(entry.Unsorted, (IReadOnlyList<PlannedRoute>?)unsorted ?? []))
        {
            PlannedRoute[] routes = unsorted is null ? [] : [.. unsorted];
            Array.Sort(routes, PlannedRoute.CompareFor(slot.Id.Namespace));
            state = new ServicePortState(service, slot, shortNameUnique, routes, ShadowedRoutes.Find(slot.Id, routes));
            entry.State = state;
            entry.Unsorted = unsorted is null ? [] : [.. unsorted];
        }

        return state;
    }

    /// <summary>A Service's TCP ports in port order, classified.</summary>
    private static PortSlot[] Layout(KubeService service)
    {
        var tcp = service.Spec.Ports.Where(p => p.Protocol == "TCP").OrderBy(p => p.Port).ToArray();
        var primary = tcp.Where(p => PortProtocols.Of(p).IsHttp()).Select(p => (int?)p.Port).FirstOrDefault();
        return [.. tcp.Select(p => new PortSlot(new ServicePortId(service.Metadata.Namespace, service.Metadata.Name, p.Port), p, PortProtocols.Of(p), p.Port == primary))];
    }

    private sealed class Entry
    {
        public ServicePortState? State { get; set; }

        public PlannedRoute[] Unsorted { get; set; } = [];
    }
}
