using System.Collections.Concurrent;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Server;

/// <summary>
/// Envoy's own rules (<see cref="EnvoyRulesValidator"/>) applied to every translated resource before it is published,
/// so no client is sent what it would NACK. Each (type, name, version) is checked once: resources are content-versioned,
/// so an unchanged resource is never checked again, and one shared by several node groups is checked (and its failure
/// logged) once. Only the versions of the last publication are remembered.
/// </summary>
internal sealed class ResourceValidation(EnvoyRulesValidator validator, ILogger<ResourceValidation> logger)
{
    private readonly ConcurrentDictionary<(string TypeUrl, string Name, string Version), bool> _checked = new();

    /// <summary>Whether <paramref name="resource"/> passes; a failure is logged (at Error, naming the resource and field) the first time.</summary>
    public bool IsValid(XdsResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return _checked.GetOrAdd((resource.TypeUrl, resource.Name, resource.Version), _ => Check(resource));
    }

    /// <summary>Forgets every version not in <paramref name="current"/> (what the last publication translated or kept).</summary>
    public void Retain(IReadOnlySet<(string TypeUrl, string Name, string Version)> current)
    {
        foreach (var key in _checked.Keys.Where(key => !current.Contains(key)))
        {
            _checked.TryRemove(key, out _);
        }
    }

    private bool Check(XdsResource resource)
    {
        var result = validator.Validate(resource.Message);
        if (!result.IsValid)
        {
            ManifestLog.ResourceInvalid(logger, TypeUrls.ShortName(resource.TypeUrl), resource.Name, resource.Version, string.Join("; ", result.Violations));
        }

        return result.IsValid;
    }
}
