using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Envoy.Config.Route.V3;
using Google.Protobuf;
using XdsControlPlane.Envoy.Validation;

namespace XdsControlPlane.Server;

/// <summary>
/// Validates a route configuration assembled from its virtual hosts' bytes (<see cref="RouteConfigurationParts"/>) one
/// virtual host at a time, remembering each host's result by the identity of its bytes: translation assembles route
/// configurations from cached virtual hosts (the same bytes while a host does not change), so a changed RouteGroup costs
/// the validation of the hosts it touched, not of the whole configuration (17 MB for a gateway at 10,000 RouteGroups). A
/// host is parsed from its bytes only to be checked, and not kept. Violations carry the same field paths a
/// whole-message validation gives. A configuration with many hosts not checked yet (a gateway's first publication: one
/// configuration with a host per Service port) has them checked side by side. Results are remembered in a plain table
/// (by identity) that <see cref="Trim"/> prunes to the hosts still translated, not in a <c>ConditionalWeakTable</c>: that
/// allocates a GC dependent handle for every host it ever saw (several per RouteGroup edit) and frees them only after
/// its full container is compacted and finalized, so the process's GC handles rose in a sawtooth.
/// </summary>
internal sealed partial class RouteConfigurationValidation(EnvoyRulesValidator validator)
{
    /// <summary>Below this many hosts not checked yet, they are checked one after the other.</summary>
    private const int ParallelHostsThreshold = 64;

    /// <summary>Stale hosts allowed on top of those kept at the last trim before the next (so trims are rare and cheap).</summary>
    private const int TrimSlack = 256;

    private readonly ConcurrentDictionary<ByteString, HostCheck> _hosts = new(ReferenceEqualityComparer.Instance);
    private int _keptAtLastTrim;

    /// <summary>How many hosts' results are remembered now.</summary>
    public int Remembered => _hosts.Count;

    /// <summary>Every violation of the route configuration <paramref name="parts"/> make.</summary>
    public IReadOnlyList<RuleViolation> Violations(RouteConfigurationParts parts)
    {
        var violations = new List<RuleViolation>(ShellViolations(parts));
        var results = Results(parts.VirtualHosts);
        for (var i = 0; i < results.Length; i++)
        {
            var found = results[i].Violations;
            if (found.Length > 0)
            {
                var prefix = $"virtual_hosts[{i}]";
                violations.AddRange(found.Select(v => v with { FieldPath = v.FieldPath.Length == 0 ? prefix : $"{prefix}.{v.FieldPath}" }));
            }
        }

        return violations;
    }

    /// <summary>The violations of the configuration without its virtual hosts (its name).</summary>
    public IReadOnlyList<RuleViolation> ShellViolations(RouteConfigurationParts parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        return validator.Validate(parts.Shell).Violations;
    }

    /// <summary>
    /// The virtual hosts that break the rules, by index, each with its violations in words: field paths from the host,
    /// and for a field of a route the route's name, which names the object it came from.
    /// </summary>
    public IReadOnlyDictionary<int, string> BrokenHosts(RouteConfigurationParts parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        Dictionary<int, string>? broken = null;
        var results = Results(parts.VirtualHosts);
        for (var i = 0; i < results.Length; i++)
        {
            if (results[i] is { Violations.Length: > 0 } check)
            {
                (broken ??= [])[i] = check.Reason;
            }
        }

        return broken ?? (IReadOnlyDictionary<int, string>)new Dictionary<int, string>();
    }

    /// <summary>Each host's result, in order: remembered ones looked up, the others checked (side by side when many).</summary>
    private HostCheck[] Results(IReadOnlyList<ByteString> hosts)
    {
        var results = new HostCheck[hosts.Count];
        var fresh = new List<int>();
        for (var i = 0; i < hosts.Count; i++)
        {
            if (_hosts.TryGetValue(hosts[i], out var found))
            {
                results[i] = found;
            }
            else
            {
                fresh.Add(i);
            }
        }

        if (fresh.Count < ParallelHostsThreshold)
        {
            foreach (var i in fresh)
            {
                results[i] = _hosts.GetOrAdd(hosts[i], Check);
            }
        }
        else
        {
            var checks = CheckAll([.. fresh.Select(i => hosts[i])]);
            for (var i = 0; i < fresh.Count; i++)
            {
                results[fresh[i]] = checks[i];
            }
        }

        return results;
    }

    /// <summary>
    /// Checks the hosts of <paramref name="configurations"/> not checked yet, side by side, each once however many
    /// configurations hold it (the gRPC role has a configuration per Service port), and remembers the results.
    /// </summary>
    public void Prepare(IReadOnlyList<RouteConfigurationParts> configurations)
    {
        ArgumentNullException.ThrowIfNull(configurations);
        var fresh = new List<ByteString>();
        var seen = new HashSet<ByteString>(ReferenceEqualityComparer.Instance);
        foreach (var parts in configurations)
        {
            foreach (var host in parts.VirtualHosts)
            {
                if (!_hosts.ContainsKey(host) && seen.Add(host))
                {
                    fresh.Add(host);
                }
            }
        }

        _ = CheckAll(fresh);
    }

    /// <summary>
    /// Forgets the results of hosts that no configuration of <paramref name="current"/> (what the last translation made)
    /// holds, once more than a quarter (at least <see cref="TrimSlack"/>) of those kept last time have come on top, so the
    /// cost is spread over many publications and the table stays within a bounded factor of the hosts translated. A host
    /// forgotten and met again is checked again (its result is the same).
    /// </summary>
    public void Trim(Func<IEnumerable<RouteConfigurationParts>> current)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (_hosts.Count <= _keptAtLastTrim + Math.Max(TrimSlack, _keptAtLastTrim / 4))
        {
            return;
        }

        var keep = new HashSet<ByteString>(ReferenceEqualityComparer.Instance);
        foreach (var parts in current())
        {
            keep.UnionWith(parts.VirtualHosts);
        }

        foreach (var host in _hosts.Keys)
        {
            if (!keep.Contains(host))
            {
                _hosts.TryRemove(host, out _);
            }
        }

        _keptAtLastTrim = _hosts.Count;
    }

    /// <summary>
    /// Checks <paramref name="hosts"/> side by side (the validator is thread-safe and each walk is its own) and then
    /// remembers the results on this thread: adding to the table takes its lock, which the workers would otherwise spin
    /// on (at a first publication, that was most of the time its validation took).
    /// </summary>
    private HostCheck[] CheckAll(List<ByteString> hosts)
    {
        var results = new HostCheck[hosts.Count];
        Parallel.For(0, hosts.Count, i => results[i] = Check(hosts[i]));
        for (var i = 0; i < hosts.Count; i++)
        {
            _hosts[hosts[i]] = results[i];
        }

        return results;
    }

    private HostCheck Check(ByteString bytes)
    {
        var host = VirtualHost.Parser.ParseFrom(bytes);
        var violations = validator.Validate(host).Violations;
        return violations.Count == 0 ? HostCheck.Passed : new HostCheck([.. violations], string.Join("; ", violations.Select(v => Describe(host, v))));
    }

    /// <summary>A violation in words, with the name of the route it is in (route names carry their origin: <c>key|Kind/ns/name#rule|carrier</c>).</summary>
    private static string Describe(VirtualHost host, RuleViolation violation)
    {
        var match = RouteIndex().Match(violation.FieldPath);
        return match.Success && int.TryParse(match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < host.Routes.Count && host.Routes[index].Name.Length > 0
            ? $"{violation} in route '{host.Routes[index].Name}'"
            : violation.ToString();
    }

    [GeneratedRegex(@"^routes\[(\d+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex RouteIndex();

    /// <summary>One host's result: its violations (paths from the host) and them in words.</summary>
    private sealed record HostCheck(RuleViolation[] Violations, string Reason)
    {
        public static HostCheck Passed { get; } = new([], "");
    }
}
