namespace XdsControlPlane.Translation;

/// <summary>The host names a Service port's virtual host answers, per kind of listener.</summary>
internal static class VirtualHostDomains
{
    /// <summary>
    /// At the gateway (one listener for every Service): <c>svc.ns</c>, <c>svc.ns.svc.&lt;domain&gt;</c> and, when the
    /// name is unique, <c>svc</c>, each with <c>:port</c>; without the port too for the Service's first HTTP port.
    /// </summary>
    public static IReadOnlyList<string> Gateway(ServicePortState port, string clusterDomain) => Domains(port, clusterDomain, perPortListener: false);

    /// <summary>
    /// At a sidecar's per-port listener: the gateway's names and the cluster IP, each with and without the port
    /// (the listener already fixes the port).
    /// </summary>
    public static IReadOnlyList<string> Sidecar(ServicePortState port, string clusterDomain) => Domains(port, clusterDomain, perPortListener: true);

    private static List<string> Domains(ServicePortState port, string clusterDomain, bool perPortListener)
    {
        var portText = ClusterTranslator.Text(port.Id.Port);
        var names = new List<string> { $"{port.Id.Service}.{port.Id.Namespace}", port.Id.Fqdn(clusterDomain) };
        if (port.ShortNameUnique)
        {
            names.Insert(0, port.Id.Service);
        }

        if (perPortListener && port.Service.Spec.ClusterIP is { Length: > 0 } ip && ip != "None")
        {
            names.Add(ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : ip);
        }

        var domains = names.Select(n => $"{n}:{portText}").ToList();
        if (perPortListener || port.Primary)
        {
            domains.AddRange(names);
        }

        domains.Sort(StringComparer.Ordinal);
        return domains;
    }
}
