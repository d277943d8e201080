using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using XdsControlPlane.Envoy.Validation;

namespace XdsControlPlane.Server;

/// <summary>
/// Envoy's own rules (<see cref="EnvoyRulesValidator"/>) applied to every translated resource before it is published,
/// so no client is sent what it would NACK. Each (type, name, version) is checked once: resources are content-versioned,
/// so an unchanged resource is never checked again, and one shared by several node groups is checked (and its failure
/// logged) once. Versions no longer translated are forgotten in batches (<see cref="Trim"/>). A route configuration
/// assembled from its virtual hosts' bytes is checked one virtual host at a time, each host once
/// (<see cref="RouteConfigurationValidation"/>), and a broken host costs only itself (<see cref="Admit"/>).
/// </summary>
internal sealed class ResourceValidation(EnvoyRulesValidator validator, ILogger<ResourceValidation> logger)
{
    /// <summary>From this many resources on, <see cref="Prepare"/> checks them side by side.</summary>
    private const int ParallelPrepareThreshold = 256;

    private readonly ConcurrentDictionary<(string TypeUrl, string Name, string Version), bool> _checked = new();
    private readonly RouteConfigurationValidation _routes = new(validator);
    private readonly VirtualHostIsolation _isolation = new(new VirtualHostFacts());
    private readonly ConditionalWeakTable<XdsResource, Isolation> _isolated = [];
    private readonly ConcurrentDictionary<(string Group, string Routes, string Host), ExcludedHost> _heldOut = new();
    private int _retainedAtLastTrim;

    /// <summary>
    /// What of <paramref name="resource"/> may be published to <paramref name="group"/>: the resource itself when it
    /// passes, null when it fails (logged once, like <see cref="IsValid"/>). A route configuration assembled from its
    /// virtual hosts is never held back whole for a host: a host that breaks Envoy's rules, or sends to a cluster
    /// <paramref name="clusterPublished"/> says the snapshot will not hold, keeps the version in <paramref name="served"/>
    /// or is left out (<see cref="VirtualHostIsolation"/>), and every other host is published. Each held-out host is
    /// logged once while its reason stays the same, and once more when it passes again.
    /// </summary>
    /// <param name="group">The node group the resource is for (held-out hosts are reported per group).</param>
    /// <param name="resource">A translated resource.</param>
    /// <param name="served">The resource of the same type and name the group is served now, if any.</param>
    /// <param name="clusterPublished">Whether a cluster will be in the snapshot the resource goes into.</param>
    public XdsResource? Admit(string group, XdsResource resource, XdsResource? served, Func<string, bool> clusterPublished)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(clusterPublished);
        if (resource.Parts is not { } parts || _routes.ShellViolations(parts).Count > 0)
        {
            return IsValid(resource) ? resource : null;
        }

        var broken = _routes.BrokenHosts(parts);
        if (broken.Count == 0 && resource.References.Clusters.All(clusterPublished))
        {
            Report(group, resource.Name, []);
            return resource;
        }

        if (!_isolated.TryGetValue(resource, out var entry)
            || !(ReferenceEquals(entry.Served, served) || ReferenceEquals(entry.Result.Resource, served))
            || !entry.Result.Resource.References.Clusters.All(clusterPublished))
        {
            entry = new Isolation(served, _isolation.Isolate(resource, broken, clusterPublished, served));
            _isolated.AddOrUpdate(resource, entry);
        }

        Report(group, resource.Name, entry.Result.Excluded);
        return entry.Result.Resource;
    }

    /// <summary>
    /// Checks <paramref name="resources"/> ahead of <see cref="Admit"/> and <see cref="IsValid"/> (side by side when there
    /// are many), so that the publisher can do the slow part before it takes a group's snapshot: the results are
    /// remembered (by version, and a route configuration's by virtual host), and nothing is logged that those calls
    /// would not log.
    /// </summary>
    public void Prepare(IReadOnlyList<XdsResource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        if (resources.Count < ParallelPrepareThreshold)
        {
            foreach (var resource in resources)
            {
                PrepareOne(resource);
            }

            return;
        }

        // The virtual hosts of every route configuration, and the other resources not checked yet, are each checked side
        // by side and remembered afterwards on this thread: adding to the tables from every worker contends on their
        // locks (and on all of them while one grows).
        var fresh = new List<XdsResource>();
        var routes = new List<RouteConfigurationParts>();
        foreach (var resource in resources)
        {
            if (resource.Parts is { } parts && _routes.ShellViolations(parts).Count == 0)
            {
                routes.Add(parts);
            }
            else if (!_checked.ContainsKey(Key(resource)))
            {
                fresh.Add(resource);
            }
        }

        _routes.Prepare(routes);

        var passed = new bool[fresh.Count];
        Parallel.For(0, fresh.Count, i => passed[i] = Check(fresh[i]));
        for (var i = 0; i < fresh.Count; i++)
        {
            _checked.TryAdd(Key(fresh[i]), passed[i]);
        }
    }

    /// <summary>Whether <paramref name="resource"/> passes; a failure is logged (at Error, naming the resource and field) the first time.</summary>
    public bool IsValid(XdsResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        return _checked.GetOrAdd(Key(resource), _ => Check(resource));
    }

    /// <summary>
    /// Forgets the versions no longer translated, once there are many more remembered than <paramref name="current"/>
    /// held last time (so the cost is spread over many publications): <paramref name="current"/> lists what the last
    /// publication translated, which includes every version still served or still failing. The virtual hosts' results
    /// are pruned the same way (<see cref="RouteConfigurationValidation.Trim"/>).
    /// </summary>
    public void Trim(Func<IEnumerable<XdsResource>> current)
    {
        ArgumentNullException.ThrowIfNull(current);
        _routes.Trim(() => current().Select(r => r.Parts).OfType<RouteConfigurationParts>());
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

    /// <summary>
    /// Forgets the held-out hosts of route configurations that <paramref name="groups"/> (what the last publication
    /// translated, by node group) no longer holds — a listener or node group gone — so they are not kept for ever, and a
    /// configuration that comes back with the same broken host is reported again.
    /// </summary>
    public void ForgetHeldOutNotIn(IReadOnlyDictionary<string, IReadOnlyList<XdsResource>> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (_heldOut.IsEmpty)
        {
            return;
        }

        // One pass over the route configurations of the groups that still hold a held-out host, then one lookup per host:
        // O(resources + held), not O(held × resources).
        var heldGroups = new HashSet<string>(_heldOut.Keys.Select(k => k.Group), StringComparer.Ordinal);
        var present = new HashSet<(string Group, string Routes)>();
        foreach (var group in heldGroups)
        {
            if (groups.TryGetValue(group, out var resources))
            {
                foreach (var resource in resources)
                {
                    if (resource.TypeUrl == TypeUrls.RouteConfiguration)
                    {
                        present.Add((group, resource.Name));
                    }
                }
            }
        }

        foreach (var key in _heldOut.Keys)
        {
            if (!present.Contains((key.Group, key.Routes)))
            {
                _heldOut.TryRemove(key, out _);
            }
        }
    }

    /// <summary>The virtual hosts held out now, by node group and route configuration, in a stable order (a copy).</summary>
    public IReadOnlyList<(string Group, string Routes, ExcludedHost Host)> HeldOut =>
        _heldOut.IsEmpty ? [] : [.. _heldOut.OrderBy(e => e.Key.Group, StringComparer.Ordinal).ThenBy(e => e.Key.Routes, StringComparer.Ordinal).ThenBy(e => e.Key.Host, StringComparer.Ordinal).Select(e => (e.Key.Group, e.Key.Routes, e.Value))];

    /// <summary>Logs each host newly held out of <paramref name="routes"/> (or held out for a new reason), and each that passes again.</summary>
    private void Report(string group, string routes, IReadOnlyList<ExcludedHost> excluded)
    {
        if (excluded.Count == 0 && _heldOut.IsEmpty)
        {
            return;
        }

        foreach (var host in excluded)
        {
            var key = (group, routes, host.Host);
            if (!_heldOut.TryGetValue(key, out var known) || known.Reason != host.Reason || known.KeptServed != host.KeptServed)
            {
                _heldOut[key] = host;
                IsolationLog.HostHeldOut(logger, host.Host, routes, group, host.Outcome, host.Reason);
            }
        }

        foreach (var key in _heldOut.Keys.Where(k => k.Group == group && k.Routes == routes && excluded.All(h => h.Host != k.Host)))
        {
            if (_heldOut.TryRemove(key, out _))
            {
                IsolationLog.HostRestored(logger, key.Host, routes, group);
            }
        }
    }

    private static (string TypeUrl, string Name, string Version) Key(XdsResource resource) => (resource.TypeUrl, resource.Name, resource.Version);

    private void PrepareOne(XdsResource resource)
    {
        if (resource.Parts is { } parts && _routes.ShellViolations(parts).Count == 0)
        {
            _ = _routes.BrokenHosts(parts);   // what Admit asks first; a held-out host is reported there, once
        }
        else
        {
            _ = IsValid(resource);
        }
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

    /// <summary>A translated route configuration's isolation against the configuration served then.</summary>
    private sealed record Isolation(XdsResource? Served, IsolatedRoutes Result);
}
