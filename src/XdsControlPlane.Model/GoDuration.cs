using System.Globalization;
using System.Text.RegularExpressions;

namespace XdsControlPlane.Model;

/// <summary>Go/Kubernetes-style durations: <c>500ms</c>, <c>90s</c>, <c>30m</c>, <c>1h30m</c>.</summary>
public static partial class GoDuration
{
    /// <summary>Parses <paramref name="text"/>; returns false when it is not a duration.</summary>
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var match = Pattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        foreach (Capture part in match.Groups["part"].Captures)
        {
            var unitStart = part.Value.IndexOfAny(['h', 'm', 's']);
            var amount = double.Parse(part.Value[..unitStart], CultureInfo.InvariantCulture);
            duration += part.Value[unitStart..] switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "s" => TimeSpan.FromSeconds(amount),
                _ => TimeSpan.FromMilliseconds(amount),
            };
        }

        return true;
    }

    [GeneratedRegex(@"^(?<part>\d+(?:\.\d+)?(?:ms|h|m|s))+$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
