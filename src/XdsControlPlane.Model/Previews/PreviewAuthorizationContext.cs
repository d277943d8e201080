namespace XdsControlPlane.Model;

/// <summary>
/// The keys of the <c>context_extensions</c> the gateway's <c>ext_authz</c> filter sends with every check of a preview
/// host (set per virtual host by translation): the preview's identity, so the authorization service decides from them
/// and never parses <c>Host</c>. Values are plain strings.
/// </summary>
public static class PreviewAuthorizationContext
{
    /// <summary>The owner's kind: <see cref="Sandbox.KindName"/> or <see cref="LocalWorkload.KindName"/>.</summary>
    public const string OwnerKind = "sandboxctl.io/owner-kind";

    /// <summary>The owner's namespace (the preview's, and its grants').</summary>
    public const string Namespace = "sandboxctl.io/namespace";

    /// <summary>The owner's name.</summary>
    public const string OwnerName = "sandboxctl.io/owner";

    /// <summary>The previewed Service as the owner names it.</summary>
    public const string Service = "sandboxctl.io/service";

    /// <summary>The previewed port, in decimal.</summary>
    public const string Port = "sandboxctl.io/port";

    /// <summary>The access level: <see cref="Preview.Public"/>, <see cref="Preview.Shared"/> or <see cref="Preview.Personal"/>.</summary>
    public const string Access = "sandboxctl.io/access";

    /// <summary>The preview's host name (<see cref="PreviewHostNames.Host"/>), for cookies and redirects.</summary>
    public const string Host = "sandboxctl.io/host";
}
