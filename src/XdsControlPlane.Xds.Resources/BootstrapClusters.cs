namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// The clusters every bootstrap this control plane renders defines statically (never served over CDS): references to
/// them are whole without a CDS resource (<see cref="SnapshotConsistency"/>).
/// </summary>
public static class BootstrapClusters
{
    /// <summary>The static cluster that points at the control plane (xDS, and the preview authorization service on the same port).</summary>
    public const string ControlPlane = "xds_control_plane";

    /// <summary>Whether <paramref name="name"/> is a static cluster of every rendered bootstrap.</summary>
    public static bool Contains(string name) => name == ControlPlane;
}
