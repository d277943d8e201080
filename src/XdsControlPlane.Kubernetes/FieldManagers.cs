namespace XdsControlPlane.Kubernetes;

/// <summary>The server-side apply field managers of the control plane's writes to the API server.</summary>
public static class FieldManagers
{
    /// <summary>
    /// The field manager of every write of the control plane (status, forks, finalizers, Events' owner), and the name of
    /// its leader-election Lease.
    /// </summary>
    public const string ControlPlane = "xds-control-plane";
}
