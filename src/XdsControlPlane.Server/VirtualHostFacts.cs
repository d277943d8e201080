using System.Runtime.CompilerServices;
using Envoy.Config.Route.V3;
using Google.Protobuf;

namespace XdsControlPlane.Server;

/// <summary>
/// What isolating a broken virtual host needs to know of a host's bytes (<see cref="RouteConfigurationParts"/>): its name
/// (read from the first field, without parsing the host) and the clusters it sends to (parsed once per host, remembered by
/// the identity of its bytes while they live). Only the isolation path asks, so a healthy publication costs nothing here.
/// </summary>
internal sealed class VirtualHostFacts
{
    private readonly ConditionalWeakTable<ByteString, string> _names = [];
    private readonly ConditionalWeakTable<ByteString, IReadOnlyList<string>> _clusters = [];

    /// <summary>The virtual host's name; empty when it has none.</summary>
    public string NameOf(ByteString host) => _names.GetValue(host, ReadName);

    /// <summary>The clusters the virtual host's routes and mirror policies send to, each once, in ordinal order.</summary>
    public IReadOnlyList<string> ClustersOf(ByteString host) => _clusters.GetValue(host, ReadClusters);

    /// <summary>Protobuf writes fields in number order, so the name (field 1) comes first; other fields are skipped until it.</summary>
    private static string ReadName(ByteString host)
    {
        var input = host.CreateCodedInput();
        for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
        {
            if (WireFormat.GetTagFieldNumber(tag) == VirtualHost.NameFieldNumber && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                return input.ReadString();
            }

            input.SkipLastField();
        }

        return "";
    }

    private static IReadOnlyList<string> ReadClusters(ByteString host) =>
        ResourceReferences.Of(new RouteConfiguration { Name = "host", VirtualHosts = { VirtualHost.Parser.ParseFrom(host) } }).Clusters;
}
