using Envoy.Config.Core.V3;
using XdsControlPlane.Xds;

namespace XdsControlPlane.Translation;

/// <summary>The node groups translation produces snapshots for: one per data-plane role (and client generation).</summary>
public static class DataPlaneRoles
{
    /// <summary>Envoy gateways.</summary>
    public const string Gateway = "gateway";

    /// <summary>Envoy sidecars (the default role).</summary>
    public const string Sidecar = "sidecar";

    /// <summary>Proxyless gRPC clients.</summary>
    public const string Grpc = "grpc";

    /// <summary>
    /// Proxyless gRPC clients on gRPC C-core before 1.60 (such as Debian bookworm's python3-grpcio 1.51), which NACK
    /// <c>HeaderMatcher.string_match</c>: they get the older <c>exact_match</c>/<c>safe_regex_match</c> fields.
    /// </summary>
    public const string GrpcLegacy = "grpc-legacy";

    /// <summary>Every group, in the order snapshots are published.</summary>
    public static IReadOnlyList<string> All { get; } = [Gateway, Sidecar, Grpc, GrpcLegacy];
}

/// <summary>
/// Maps a node to its <see cref="DataPlaneRoles"/> group from metadata <c>sandboxctl.io/role</c> (<c>gateway</c>,
/// <c>sidecar</c>, <c>grpc</c>; unknown or absent → <c>sidecar</c>), and proxyless gRPC C-core clients older than
/// 1.60 to <see cref="DataPlaneRoles.GrpcLegacy"/>.
/// </summary>
public sealed class DataPlaneGroupResolver : INodeGroupResolver
{
    private static readonly Version FirstModernCore = new(1, 60);

    /// <inheritdoc />
    public string GroupOf(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var role = node.Metadata?.Fields.TryGetValue(RoleAndClusterNodeGroupResolver.RoleKey, out var value) == true && value.HasStringValue
            ? value.StringValue
            : DataPlaneRoles.Sidecar;
        return role switch
        {
            DataPlaneRoles.Gateway => DataPlaneRoles.Gateway,
            DataPlaneRoles.Grpc when IsLegacyCore(node) => DataPlaneRoles.GrpcLegacy,
            DataPlaneRoles.Grpc => DataPlaneRoles.Grpc,
            _ => DataPlaneRoles.Sidecar,
        };
    }

    // C-core sends user_agent_version "C-core 1.51.1" (grpcio adds " Python 1.51.1"); older releases sent "1.30.0".
    private static bool IsLegacyCore(Node node) =>
        node.UserAgentName.Contains("C-core", StringComparison.OrdinalIgnoreCase)
        && Version.TryParse(new string(node.UserAgentVersion.Replace("C-core ", "", StringComparison.OrdinalIgnoreCase).TakeWhile(c => char.IsDigit(c) || c == '.').ToArray()).TrimEnd('.'), out var version)
        && version < FirstModernCore;
}
