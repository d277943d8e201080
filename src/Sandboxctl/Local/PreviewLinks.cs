using XdsControlPlane.Model;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>A preview URL of the laptop as the broker told it: the port, its access level, and the URL (null while the control plane serves no previews).</summary>
internal sealed record PreviewLink(int Port, string Access, string? Url);

/// <summary>
/// The previews a Welcome names, read as any input from the network: at most <see cref="ModelLimits.MaxPreviews"/>,
/// a port in range, a known access level, and a URL shown only when it is an <c>https://</c> URL of printable ASCII
/// of at most <see cref="MaxUrlLength"/> characters — a broker cannot put terminal escapes on the user's screen.
/// </summary>
internal static class PreviewLinks
{
    /// <summary>The longest URL shown: <c>https://</c>, a host name of at most 253 characters, <c>/</c>.</summary>
    public const int MaxUrlLength = 8 + 253 + 1;

    /// <summary>The previews of <paramref name="welcome"/>; entries that are not what a broker sends are left out.</summary>
    public static IReadOnlyList<PreviewLink> Of(Welcome welcome)
    {
        ArgumentNullException.ThrowIfNull(welcome);
        return [.. welcome.Previews
            .Take(ModelLimits.MaxPreviews)
            .Where(p => p.Port is >= 1 and <= 65535 && p.Access is Preview.Public or Preview.Shared or Preview.Personal)
            .Select(p => new PreviewLink((int)p.Port, p.Access, IsUrl(p.Url) ? p.Url : null))];
    }

    private static bool IsUrl(string url) =>
        url.Length <= MaxUrlLength && url.StartsWith("https://", StringComparison.Ordinal) && url.All(c => c is > ' ' and < (char)127)
        && Uri.TryCreate(url, UriKind.Absolute, out _);
}
