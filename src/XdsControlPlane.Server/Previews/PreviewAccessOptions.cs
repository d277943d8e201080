namespace XdsControlPlane.Server.Previews;

/// <summary>
/// The preview authorization service's settings (section <c>PreviewAccess</c>, docs/server.md): who counts as an
/// admin for personal previews, how long a browser session lasts, whether CORS preflights need a token, and where the
/// key that signs session cookies is kept.
/// </summary>
internal sealed class PreviewAccessOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "PreviewAccess";

    /// <summary>The default <see cref="SessionKeySecret"/>.</summary>
    public const string DefaultSessionKeySecret = "xds-control-plane-preview-session";

    /// <summary>The most admin groups.</summary>
    public const int MaxAdminGroups = 16;

    /// <summary>
    /// Groups (<c>--preview-admin-group</c>, repeatable) whose members' grants open every personal preview: the webhook
    /// records which of them a grant's creator was in (<c>sandboxctl.io/created-by-groups</c>).
    /// </summary>
    public List<string> AdminGroups { get; set; } = [];

    /// <summary>The longest browser session a share link or first visit starts (<c>--preview-session-max-age</c>); a session never outlives its grant.</summary>
    public TimeSpan SessionMaxAge { get; set; } = TimeSpan.FromHours(12);

    /// <summary>Ask a token of CORS preflights too (<c>--preview-check-preflight</c>); by default an <c>OPTIONS</c> with <c>Origin</c> and <c>Access-Control-Request-Method</c> passes, since browsers send it without cookies.</summary>
    public bool CheckPreflight { get; set; }

    /// <summary>With <c>--kubernetes</c>: the Secret (in the server's namespace) holding the session-signing key, created by the leader when absent (<c>--preview-session-secret</c>).</summary>
    public string SessionKeySecret { get; set; } = DefaultSessionKeySecret;

    /// <summary>In manifests mode: the file holding the session-signing key, created (mode 0600) when absent (<c>--preview-session-key-file</c>); without it a key is made in memory and sessions end with the process.</summary>
    public string? SessionKeyFile { get; set; }

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (AdminGroups.Count > MaxAdminGroups)
        {
            yield return $"PreviewAccess:AdminGroups (--preview-admin-group): at most {MaxAdminGroups} groups, got {AdminGroups.Count}.";
        }

        foreach (var group in AdminGroups.Where(g => string.IsNullOrWhiteSpace(g) || g.Length > 253 || g.Contains(',', StringComparison.Ordinal)))
        {
            yield return $"PreviewAccess:AdminGroups (--preview-admin-group): a group name of 1 to 253 characters without ',', got '{(group.Length > 64 ? group[..64] + "…" : group)}'.";
        }

        if (SessionMaxAge < TimeSpan.FromMinutes(1) || SessionMaxAge > TimeSpan.FromDays(30))
        {
            yield return $"PreviewAccess:SessionMaxAge (--preview-session-max-age): from 1m to 720h, got {SessionMaxAge}.";
        }

        if (!XdsControlPlane.Model.SchemaPatterns.IsDnsSubdomain(SessionKeySecret))
        {
            yield return $"PreviewAccess:SessionKeySecret (--preview-session-secret): a Secret name (DNS subdomain), got '{SessionKeySecret}'.";
        }

        if (SessionKeyFile is { Length: 0 })
        {
            yield return "PreviewAccess:SessionKeyFile (--preview-session-key-file): a file path, got an empty one.";
        }
    }
}
