using System.Security.Cryptography;
using System.Text;

namespace XdsControlPlane.Translation;

/// <summary>
/// Assembles route configurations of many virtual hosts from each host's cached serialization
/// (<see cref="XdsResource.CreateRouteConfiguration"/>), versioned by the hash of their name and their hosts'
/// hashes, and keeps the last one per name so unchanged hosts cost nothing.
/// </summary>
internal sealed class RouteConfigurationAssembler
{
    private readonly Dictionary<string, (VirtualHostPart[] Hosts, XdsResource Resource)> _last = new(StringComparer.Ordinal);

    /// <summary>The route configuration <paramref name="name"/> of <paramref name="hosts"/>, in that order.</summary>
    public XdsResource Assemble(string name, VirtualHostPart[] hosts)
    {
        var found = _last.TryGetValue(name, out var previous);
        if (found && previous.Hosts.AsSpan().SequenceEqual(hosts, ReferenceEqualityComparer.Instance))
        {
            return previous.Resource;
        }

        var references = found && SameClusters(previous.Hosts, hosts) ? previous.Resource.References : References(hosts);
        var resource = XdsResource.CreateRouteConfiguration(name, [.. hosts.Select(h => h.Bytes)], Version(name, hosts), references);
        _last[name] = (hosts, resource);
        return resource;
    }

    /// <summary>Forgets the route configurations not named in <paramref name="names"/> (Services that are gone).</summary>
    public void Retain(IEnumerable<string> names)
    {
        var kept = new HashSet<string>(names, StringComparer.Ordinal);
        foreach (var name in _last.Keys.Where(name => !kept.Contains(name)).ToArray())
        {
            _last.Remove(name);
        }
    }

    /// <summary>Whether every changed host sends to the same clusters as before (so the references are unchanged).</summary>
    private static bool SameClusters(VirtualHostPart[] before, VirtualHostPart[] now)
    {
        if (before.Length != now.Length)
        {
            return false;
        }

        for (var i = 0; i < now.Length; i++)
        {
            if (!ReferenceEquals(before[i], now[i]) && !before[i].Clusters.SequenceEqual(now[i].Clusters, StringComparer.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static string Version(string name, VirtualHostPart[] hosts)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var hashes = new byte[nameBytes.Length + (hosts.Length * 32)];
        nameBytes.CopyTo(hashes, 0);
        for (var i = 0; i < hosts.Length; i++)
        {
            hosts[i].Hash.CopyTo(hashes, nameBytes.Length + (i * 32));
        }

        return Convert.ToHexStringLower(SHA256.HashData(hashes), 0, 8);
    }

    private static ResourceReferences References(VirtualHostPart[] hosts)
    {
        var clusters = new HashSet<string>(StringComparer.Ordinal);
        foreach (var host in hosts)
        {
            clusters.UnionWith(host.Clusters);
        }

        string[] sorted = [.. clusters];
        Array.Sort(sorted, StringComparer.Ordinal);
        return new ResourceReferences([], sorted, [], []);
    }
}
