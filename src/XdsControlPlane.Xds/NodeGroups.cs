using Envoy.Config.Core.V3;

namespace XdsControlPlane.Xds;

/// <summary>Maps a client's <c>Node</c> to the node group whose snapshot it is served.</summary>
public interface INodeGroupResolver
{
    /// <summary>The group of <paramref name="node"/>.</summary>
    string GroupOf(Node node);
}

/// <summary>
/// The default grouping: the data-plane role from node metadata <c>sandboxctl.io/role</c>
/// (<c>gateway</c>, <c>sidecar</c> or <c>grpc</c>; <c>sidecar</c> when absent) and the node's cluster, as
/// <c>role/cluster</c>.
/// </summary>
public sealed class RoleAndClusterNodeGroupResolver : INodeGroupResolver
{
    /// <summary>The node metadata key that carries the data-plane role.</summary>
    public const string RoleKey = "sandboxctl.io/role";

    /// <summary>The role assumed when a node does not say.</summary>
    public const string DefaultRole = "sidecar";

    /// <inheritdoc />
    public string GroupOf(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var role = node.Metadata?.Fields.TryGetValue(RoleKey, out var value) == true && value.HasStringValue && value.StringValue.Length > 0
            ? value.StringValue
            : DefaultRole;
        return $"{role}/{node.Cluster}";
    }
}
