using System.Globalization;
using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;

namespace XdsControlPlane.Xds;

/// <summary>
/// The copy of a client's node that a stream keeps for its whole life and shows in CSDS, <c>sandboxctl proxies</c> and
/// the logs: bounded and printable whatever the client sent. Id, cluster, locality, user agent and client features are
/// made printable and capped (<see cref="ClientText"/>); metadata is kept when it is small, otherwise replaced by
/// the role alone and a note saying how large it was; extensions, listening addresses, dynamic parameters and
/// build metadata are not kept. The node group is decided from the node as the client sent it, before this copy.
/// </summary>
internal static class RetainedNode
{
    /// <summary>Metadata larger than this (serialized) is dropped.</summary>
    public const int MaxMetadataBytes = 16 * 1024;

    /// <summary>At most this many client features are kept.</summary>
    public const int MaxClientFeatures = 64;

    /// <summary>The metadata key that says metadata was dropped and how large it was.</summary>
    public const string DroppedMetadataKey = "sandboxctl.io/metadata-dropped";

    /// <summary>
    /// The one metadata field kept when the rest is dropped: the data-plane role (the product's grouping,
    /// <c>DataPlaneRoles.RoleKey</c> in XdsControlPlane.Translation), so CSDS and <c>sandboxctl proxies</c> still show it.
    /// </summary>
    private const string RoleKey = "sandboxctl.io/role";

    public static Node Of(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var kept = new Node
        {
            Id = Name(node.Id),
            Cluster = Name(node.Cluster),
            UserAgentName = Name(node.UserAgentName),
            Metadata = Metadata(node.Metadata),
            Locality = node.Locality is { } locality
                ? new Locality { Region = Name(locality.Region), Zone = Name(locality.Zone), SubZone = Name(locality.SubZone) }
                : null,
        };
        switch (node.UserAgentVersionTypeCase)
        {
            case Node.UserAgentVersionTypeOneofCase.UserAgentVersion:
                kept.UserAgentVersion = Name(node.UserAgentVersion);
                break;
            case Node.UserAgentVersionTypeOneofCase.UserAgentBuildVersion:
                kept.UserAgentBuildVersion = new BuildVersion { Version = node.UserAgentBuildVersion.Version?.Clone() };
                break;
        }

        kept.ClientFeatures.AddRange(node.ClientFeatures.Take(MaxClientFeatures).Select(Name));
        return kept;
    }

    private static string Name(string text) => ClientText.Printable(text, ClientText.MaxNameLength);

    private static Struct? Metadata(Struct? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        var size = metadata.CalculateSize();
        if (size <= MaxMetadataBytes)
        {
            return metadata.Clone();
        }

        var kept = new Struct
        {
            Fields =
            {
                [DroppedMetadataKey] = Value.ForString(string.Create(CultureInfo.InvariantCulture, $"{size} bytes of metadata, more than the {MaxMetadataBytes} kept")),
            },
        };
        if (metadata.Fields.TryGetValue(RoleKey, out var role) && role.HasStringValue)
        {
            kept.Fields[RoleKey] = Value.ForString(ClientText.Printable(role.StringValue, ClientAgent.MaxPartLength));
        }

        return kept;
    }
}
