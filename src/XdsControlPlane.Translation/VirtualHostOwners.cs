using System.Globalization;
using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>
/// Which objects a virtual host carries routes of. A Service port's host (named
/// <c>&lt;service&gt;.&lt;namespace&gt;.svc.&lt;cluster-domain&gt;:&lt;port&gt;</c>): the RouteGroups, Sandboxes and
/// LocalWorkloads its keyed routes come from. A preview host: the one Sandbox or LocalWorkload whose preview it serves.
/// Asked only when a host is held out of its route configuration, so a healthy publication pays nothing for it.
/// </summary>
internal static class VirtualHostOwners
{
    /// <summary>
    /// The origins of the routes of <paramref name="host"/>, each once, in order: from <paramref name="ports"/> for a
    /// Service port's host, from <paramref name="hosts"/> (the other planned hosts) for a preview host; empty for another
    /// kind of host.
    /// </summary>
    public static IReadOnlyList<ResourceKey> Of(ServicePortTable ports, IReadOnlyList<PlannedVirtualHost> hosts, string host, string clusterDomain)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        foreach (var planned in hosts)
        {
            if (planned.Preview is { Site: var site } && planned.Name == host)
            {
                return [new ResourceKey(site.OwnerKind, site.Namespace, site.OwnerName)];
            }
        }

        var suffix = $".svc.{clusterDomain}:";
        var at = host.LastIndexOf(suffix, StringComparison.Ordinal);
        if (at <= 0
            || !int.TryParse(host.AsSpan(at + suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || host[..at].Split('.') is not [var service, var ns]
            || !ports.TryGet(new ServicePortId(ns, service, port), out var state))
        {
            return [];
        }

        return [.. state.Routes.Select(r => r.Origin).Distinct().Order(ResourceKey.Order)];
    }
}
