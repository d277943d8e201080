namespace XdsControlPlane.Model;

/// <summary>
/// The annotations in which the admission webhook records who created an object (a Sandbox, a LocalWorkload, a PreviewGrant), from the
/// API server's <c>userInfo</c>: the server's webhook writes them, the authorization service and <c>sandboxctl</c> read them.
/// </summary>
public static class CreatorAnnotations
{
    /// <summary>The creating user's name.</summary>
    public const string CreatedBy = "sandboxctl.io/created-by";

    /// <summary>The creating user's uid.</summary>
    public const string CreatedByUid = "sandboxctl.io/created-by-uid";

    /// <summary>The creating user's groups that were asked for, comma-separated, in the order of <c>userInfo</c>.</summary>
    public const string CreatedByGroups = "sandboxctl.io/created-by-groups";
}
