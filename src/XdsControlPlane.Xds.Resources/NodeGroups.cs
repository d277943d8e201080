using Envoy.Config.Core.V3;

namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// Maps a client's <c>Node</c> to the node group whose snapshot it is served. The xDS server has no grouping of its
/// own: the host registers one (the product's is <c>DataPlaneGroupResolver</c> in XdsControlPlane.Translation, which
/// reads the data-plane role), as go-control-plane's cache takes a <c>NodeHash</c>.
/// </summary>
public interface INodeGroupResolver
{
    /// <summary>The group of <paramref name="node"/>.</summary>
    string GroupOf(Node node);
}
