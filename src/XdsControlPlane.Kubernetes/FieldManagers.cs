namespace XdsControlPlane.Kubernetes;

/// <summary>Who the control plane says it is to the API server.</summary>
public static class FieldManagers
{
    /// <summary>The field manager of every write of the control plane to the API server, and the name of its Lease.</summary>
    public const string ControlPlane = "xds-control-plane";
}
