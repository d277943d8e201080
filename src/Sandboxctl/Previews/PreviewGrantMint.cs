using System.Globalization;
using XdsControlPlane.Model;

namespace Sandboxctl.Previews;

/// <summary>A grant about to be created and the token it backs (the token leaves the process only in the printed link).</summary>
/// <param name="Grant">The grant: only the token's hash, the expiry and the scope.</param>
/// <param name="Token">The fresh token.</param>
internal sealed record MintedGrant(PreviewGrant Grant, string Token);

/// <summary>
/// Makes the <see cref="PreviewGrant"/> of <c>preview open</c> (every preview of one owner) and <c>preview share</c>
/// (one preview): a fresh <see cref="PreviewToken"/>, its hash and the expiry from the TTL; the store names it
/// (<see cref="GenerateName"/>). Pure but for the token's randomness.
/// </summary>
internal static class PreviewGrantMint
{
    /// <summary>The prefix of the names the API server generates for grants.</summary>
    public const string GenerateName = "preview-";

    /// <summary>The longest <c>--description</c>.</summary>
    public const int MaxDescriptionLength = PreviewGrantSpec.MaxDescriptionLength;

    /// <summary>How long a grant may live: one minute to 30 days.</summary>
    public static readonly DurationRange Ttl = new(TimeSpan.FromMinutes(1), TimeSpan.FromDays(30), "30m, 12h or 168h");

    /// <summary>
    /// A grant for <paramref name="owner"/> (narrowed to <paramref name="target"/> when given) that expires
    /// <paramref name="ttl"/> after <paramref name="now"/>.
    /// </summary>
    public static MintedGrant Mint(PreviewOwner owner, PreviewTarget? target, TimeSpan ttl, DateTimeOffset now, string? description)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var token = PreviewToken.Create();
        var grant = new PreviewGrant
        {
            // No name: the API server generates one from GenerateName (the manifests store makes one the same way).
            Metadata = new ObjectMeta { Namespace = owner.Namespace },
            Spec = new PreviewGrantSpec
            {
                Sandbox = owner.IsLocalWorkload ? null : owner.Name,
                LocalWorkload = owner.IsLocalWorkload ? owner.Name : null,
                Preview = target,
                SecretHash = PreviewToken.Hash(token),
                ExpiresAt = PreviewGrant.FormatTimestamp(now + ttl),
                Description = string.IsNullOrEmpty(description) ? null : description,
            },
        };
        return new MintedGrant(grant, token);
    }

    /// <summary>Why <paramref name="description"/> cannot be a grant's description (too long, or control characters), or null when it can.</summary>
    public static string? DescriptionProblem(string? description) =>
        description is null ? null
        : description.Length > MaxDescriptionLength ? string.Create(CultureInfo.InvariantCulture, $"--description may have at most {MaxDescriptionLength} characters, got {description.Length}.")
        : description.Any(char.IsControl) ? "--description may not contain control characters (line breaks, tabs, escapes)."
        : null;

    /// <summary><paramref name="url"/> with the token as its first-visit query parameter (<c>?token=</c>; the server answers with a cookie and drops it).</summary>
    public static string Link(string url, string token)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url + (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + PreviewToken.QueryParameter + "=" + Uri.EscapeDataString(token);
    }
}
