using System.Collections;
using System.Runtime.CompilerServices;
using Envoy.Config.Route.V3;
using XdsControlPlane.Envoy.Validation;

namespace XdsControlPlane.Server;

/// <summary>
/// Validates a route configuration one virtual host at a time, remembering each host's result by identity: translation
/// assembles route configurations from cached virtual hosts (the same instances while a host does not change), so a
/// changed RouteGroup costs the validation of the hosts it touched, not of the whole configuration (17 MB for a
/// gateway at 10,000 RouteGroups). Violations carry the same field paths a whole-message validation gives.
/// </summary>
internal sealed class RouteConfigurationValidation(EnvoyRulesValidator validator)
{
    private readonly ConditionalWeakTable<VirtualHost, RuleViolation[]> _hosts = [];

    /// <summary>Every violation of <paramref name="config"/>.</summary>
    public IReadOnlyList<RuleViolation> Violations(RouteConfiguration config)
    {
        var violations = new List<RuleViolation>(validator.Validate(WithoutVirtualHosts(config)).Violations);
        for (var i = 0; i < config.VirtualHosts.Count; i++)
        {
            var host = config.VirtualHosts[i];
            var found = _hosts.GetValue(host, h => [.. validator.Validate(h).Violations]);
            var prefix = $"virtual_hosts[{i}]";
            violations.AddRange(found.Select(v => v with { FieldPath = v.FieldPath.Length == 0 ? prefix : $"{prefix}.{v.FieldPath}" }));
        }

        return violations;
    }

    /// <summary>A shallow copy of <paramref name="config"/> without its virtual hosts (the fields share their values: read only).</summary>
    private static RouteConfiguration WithoutVirtualHosts(RouteConfiguration config)
    {
        var shell = new RouteConfiguration();
        foreach (var field in RouteConfiguration.Descriptor.Fields.InFieldNumberOrder())
        {
            if (field.FieldNumber == RouteConfiguration.VirtualHostsFieldNumber)
            {
                continue;
            }

            var value = field.Accessor.GetValue(config);
            if (field.IsMap)
            {
                var target = (IDictionary)field.Accessor.GetValue(shell);
                foreach (DictionaryEntry entry in (IDictionary)value)
                {
                    target[entry.Key] = entry.Value;
                }
            }
            else if (field.IsRepeated)
            {
                var target = (IList)field.Accessor.GetValue(shell);
                foreach (var item in (IEnumerable)value)
                {
                    target.Add(item);
                }
            }
            else if (!field.HasPresence || field.Accessor.HasValue(config))
            {
                field.Accessor.SetValue(shell, value);
            }
        }

        return shell;
    }
}
