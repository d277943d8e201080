using XdsControlPlane.Model;
using XdsControlPlane.Translation;
using XdsControlPlane.Sources;

namespace XdsControlPlane.Server;

/// <summary>
/// The EndpointSlice changes published ahead of the pass that will include them (the source pipeline's endpoint lane),
/// with the last translation they are published from. A change stays here until a pass that includes it (by the
/// pipeline's sequence) has been translated: every group publication until then carries it, so a pass that translated
/// older slices never takes an endpoint back. A slice the pass would not take (one that fails validation keeps its
/// last good version) is not published ahead either. Not thread-safe: the publisher's lock guards it.
/// </summary>
internal sealed class EndpointChanges
{
    private readonly Dictionary<(string Namespace, string Name), (long Sequence, EndpointSlice Slice)> _ahead = [];
    private RoutingInputs? _inputs;
    private EndpointAssignments _endpoints = EndpointAssignments.None;
    private long _included;

    /// <summary>The highest sequence seen, from a pass or an endpoint change.</summary>
    public long Latest { get; private set; }

    /// <summary>A pass translated <paramref name="inputs"/>, which include every change up to <paramref name="included"/>: the changes ahead of it stay.</summary>
    public void Translated(RoutingInputs inputs, EndpointAssignments endpoints, long included)
    {
        (_inputs, _endpoints) = (inputs, endpoints);
        _included = Math.Max(_included, included);
        Latest = Math.Max(Latest, _included);
        foreach (var key in _ahead.Where(entry => entry.Value.Sequence <= _included).Select(entry => entry.Key).ToList())
        {
            _ahead.Remove(key);
        }
    }

    /// <summary>
    /// Takes <paramref name="changes"/> ahead of the next pass; returns the ClusterLoadAssignments of their Services as
    /// they now are (none before the first translation, or for changes a pass already included).
    /// </summary>
    public IReadOnlyList<XdsResource> Apply(IReadOnlyList<EndpointChange> changes)
    {
        var services = new HashSet<(string Namespace, string Service)>();
        foreach (var (slice, sequence) in changes)
        {
            if (_inputs is null || sequence <= _included)
            {
                continue;
            }

            Latest = Math.Max(Latest, sequence);
            var key = (slice.Metadata.Namespace, slice.Metadata.Name);
            if (_ahead.TryGetValue(key, out var held) && held.Sequence > sequence)
            {
                continue;
            }

            if (slice.ServiceName is null || ManifestValidator.Validate(slice, _inputs).Count > 0)
            {
                _ahead.Remove(key);
                continue;
            }

            _ahead[key] = (sequence, slice);
            services.Add((slice.Metadata.Namespace, slice.ServiceName));
        }

        return [.. services.SelectMany(service => Endpoints(service.Namespace, service.Service))];
    }

    /// <summary><paramref name="translated"/> with the ClusterLoadAssignments of the changes ahead of its translation.</summary>
    public IReadOnlyList<XdsResource> InForce(IReadOnlyList<XdsResource> translated)
    {
        if (_ahead.Count == 0)
        {
            return translated;
        }

        var ahead = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
        foreach (var (ns, service) in _ahead.Values.Select(entry => (entry.Slice.Metadata.Namespace, entry.Slice.ServiceName!)).Distinct())
        {
            foreach (var resource in Endpoints(ns, service))
            {
                ahead[resource.Name] = resource;
            }
        }

        var resources = new XdsResource[translated.Count];
        for (var i = 0; i < resources.Length; i++)
        {
            var resource = translated[i];
            resources[i] = resource.TypeUrl == TypeUrls.ClusterLoadAssignment && ahead.TryGetValue(resource.Name, out var newer) ? newer : resource;
        }

        return resources;
    }

    /// <summary>The ClusterLoadAssignments of a Service from the translated slices with those ahead in their place, in name order as translation orders them.</summary>
    private IReadOnlyList<XdsResource> Endpoints(string ns, string service)
    {
        var slices = new SortedDictionary<string, EndpointSlice>(StringComparer.Ordinal);
        foreach (var slice in _inputs!.SlicesOf(ns, service))
        {
            slices[slice.Metadata.Name] = slice;
        }

        foreach (var ((sliceNamespace, name), (_, slice)) in _ahead)
        {
            if (sliceNamespace != ns)
            {
                continue;
            }

            if (slice.ServiceName == service)
            {
                slices[name] = slice;
            }
            else
            {
                slices.Remove(name);   // moved to another Service
            }
        }

        return _endpoints.For(ns, service, [.. slices.Values]);
    }
}
