using System.Globalization;
using System.Runtime.CompilerServices;
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
/// configuration with a host per Service port) has them checked side by side.
/// </summary>
internal sealed partial class RouteConfigurationValidation(EnvoyRulesValidator validator)
{
    /// <summary>Below this many hosts not checked yet, they are checked one after the other.</summary>
    private const int ParallelHostsThreshold = 64;

    private readonly ConditionalWeakTable<ByteString, HostCheck> _hosts = [];

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
                results[i] = _hosts.GetValue(hosts[i], Check);
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
                if (!_hosts.TryGetValue(host, out _) && seen.Add(host))
                {
                    fresh.Add(host);
                }
            }
        }

        _ = CheckAll(fresh);
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
            _hosts.AddOrUpdate(hosts[i], results[i]);
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
