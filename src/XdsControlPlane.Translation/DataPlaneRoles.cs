using Envoy.Config.Core.V3;

namespace XdsControlPlane.Translation;

/// <summary>
/// The node groups translation produces snapshots for: one per data-plane role. Every proxyless gRPC client gets the
/// same resources, whatever its language or version (docs/routing.md lists the clients tested), so no group depends
/// on the client's user agent.
/// </summary>
public static class DataPlaneRoles
{
    /// <summary>The node metadata key that carries a client's role (<c>gateway</c>, <c>sidecar</c>, <c>grpc</c>).</summary>
    public const string RoleKey = "sandboxctl.io/role";

    /// <summary>Envoy gateways.</summary>
    public const string Gateway = "gateway";

    /// <summary>Envoy sidecars (the default role).</summary>
    public const string Sidecar = "sidecar";

    /// <summary>Proxyless gRPC clients.</summary>
    public const string Grpc = "grpc";

    /// <summary>Every group, in the order snapshots are published.</summary>
    public static IReadOnlyList<string> All { get; } = [Gateway, Sidecar, Grpc];
}

/// <summary>
/// Maps a node to its <see cref="DataPlaneRoles"/> group from metadata <c>sandboxctl.io/role</c> (<c>gateway</c>,
/// <c>sidecar</c>, <c>grpc</c>; unknown or absent → <c>sidecar</c>).
/// </summary>
public sealed class DataPlaneGroupResolver : INodeGroupResolver
{
    /// <inheritdoc />
    public string GroupOf(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var role = node.Metadata?.Fields.TryGetValue(DataPlaneRoles.RoleKey, out var value) == true && value.HasStringValue
            ? value.StringValue
            : DataPlaneRoles.Sidecar;
        return role switch
        {
            DataPlaneRoles.Gateway => DataPlaneRoles.Gateway,
            DataPlaneRoles.Grpc => DataPlaneRoles.Grpc,
            _ => DataPlaneRoles.Sidecar,
        };
    }
}
