using System.Collections.Concurrent;
using XdsControlPlane.Envoy.Validation;

namespace XdsControlPlane.Server;

/// <summary>
/// Envoy's own rules (<see cref="EnvoyRulesValidator"/>) applied to every translated resource before it is published,
/// so no client is sent what it would NACK. Each (type, name, version) is checked once: resources are content-versioned,
/// so an unchanged resource is never checked again, and one shared by several node groups is checked (and its failure
/// logged) once. Versions no longer translated are forgotten in batches (<see cref="Trim"/>). A route configuration
/// assembled from its virtual hosts' bytes is checked one virtual host at a time, each host once
/// (<see cref="RouteConfigurationValidation"/>).
/// </summary>
internal sealed class ResourceValidation(EnvoyRulesValidator validator, ILogger<ResourceValidation> logger)
{
    private readonly ConcurrentDictionary<(string TypeUrl, string Name, string Version), bool> _checked = new();
    private readonly RouteConfigurationValidation _routes = new(validator);
    private int _retainedAtLastTrim;

    /// <summary>Whether <paramref name="resource"/> passes; a failure is logged (at Error, naming the resource and field) the first time.</summary>
    public bool IsValid(XdsResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return _checked.GetOrAdd((resource.TypeUrl, resource.Name, resource.Version), _ => Check(resource));
    }

    /// <summary>
    /// Forgets the versions no longer translated, once there are many more remembered than <paramref name="current"/>
    /// held last time (so the cost is spread over many publications): <paramref name="current"/> lists what the last
    /// publication translated, which includes every version still served or still failing.
    /// </summary>
    public void Trim(Func<IEnumerable<XdsResource>> current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (_checked.Count <= (2 * _retainedAtLastTrim) + 1024)
        {
            return;
        }

        var keep = new HashSet<(string, string, string)>();
        foreach (var resource in current())
        {
            keep.Add((resource.TypeUrl, resource.Name, resource.Version));
        }

        foreach (var key in _checked.Keys.Where(key => !keep.Contains(key)))
        {
            _checked.TryRemove(key, out _);
        }

        _retainedAtLastTrim = _checked.Count;
    }

    private bool Check(XdsResource resource)
    {
        var violations = resource.Parts is { } parts ? _routes.Violations(parts) : validator.Validate(resource.Message).Violations;
        if (violations.Count > 0)
        {
            ManifestLog.ResourceInvalid(logger, TypeUrls.ShortName(resource.TypeUrl), resource.Name, resource.Version, string.Join("; ", violations));
        }

        return violations.Count == 0;
    }
}
