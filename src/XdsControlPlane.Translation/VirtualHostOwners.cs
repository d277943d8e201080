using System.Globalization;
using XdsControlPlane.Model;

namespace XdsControlPlane.Translation;

/// <summary>
/// Which objects a Service port's virtual host (named <c>&lt;service&gt;.&lt;namespace&gt;.svc.&lt;cluster-domain&gt;:&lt;port&gt;</c>)
/// carries routes of: the RouteGroups, Sandboxes and LocalWorkloads its keyed routes come from. Asked only when a host is
/// held out of its route configuration, so a healthy publication pays nothing for it.
/// </summary>
internal static class VirtualHostOwners
{
    /// <summary>The origins of the routes of <paramref name="host"/> in <paramref name="ports"/>, each once, in order; empty for another kind of host.</summary>
    public static IReadOnlyList<ResourceKey> Of(ServicePortTable ports, string host, string clusterDomain)
    {
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
