using System.Globalization;
using System.Text.RegularExpressions;

namespace XdsControlPlane.Model;

/// <summary>
/// Go/Kubernetes-style durations: <c>500ms</c>, <c>90s</c>, <c>30m</c>, <c>1h30m</c>. Parsing never throws and never
/// overflows: anything above <see cref="Maximum"/> (Go's own limit, about 292 years) is not a duration. Each field
/// that holds one has a narrower documented range (<see cref="DurationRanges"/>).
/// </summary>
public static partial class GoDuration
{
    /// <summary>The longest duration Go's <c>time.Duration</c> holds (2562047h47m16.854775807s), rounded down to whole milliseconds.</summary>
    public static readonly TimeSpan Maximum = TimeSpan.FromMilliseconds(9_223_372_036_854);

    /// <summary>Parses <paramref name="text"/>; returns false when it is not a duration or exceeds <see cref="Maximum"/>.</summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (text is null || text.Length > 64)
        {
            return false;
        }

        var match = Pattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        decimal milliseconds = 0;
        foreach (Capture part in match.Groups["part"].Captures)
        {
            var unitStart = part.Value.IndexOfAny(['h', 'm', 's']);
            if (!decimal.TryParse(part.Value[..unitStart], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                return false;
            }

            milliseconds += amount * part.Value[unitStart..] switch
            {
                "h" => 3_600_000m,
                "m" => 60_000m,
                "s" => 1_000m,
                _ => 1m,
            };
            if (milliseconds > (decimal)Maximum.TotalMilliseconds)
            {
                return false;
            }
        }

        duration = TimeSpan.FromTicks((long)(milliseconds * TimeSpan.TicksPerMillisecond));
        return true;
    }

    /// <summary>Writes <paramref name="duration"/> the way it is read back (<c>1h30m</c>, <c>90s</c>, <c>250ms</c>).</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0s";
        }

        var text = new System.Text.StringBuilder();
        if ((long)duration.TotalHours is > 0 and var hours)
        {
            text.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }

        if (duration.Minutes > 0)
        {
            text.Append(duration.Minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }

        if (duration.Seconds > 0)
        {
            text.Append(duration.Seconds.ToString(CultureInfo.InvariantCulture)).Append('s');
        }

        if (duration.Milliseconds > 0)
        {
            text.Append(duration.Milliseconds.ToString(CultureInfo.InvariantCulture)).Append("ms");
        }

        return text.ToString();
    }

    [GeneratedRegex(@"^(?<part>\d{1,20}(?:\.\d{1,9})?(?:ms|h|m|s))+\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>The range each duration the product reads must fall in; the validator and the flags check them.</summary>
/// <param name="Minimum">The shortest accepted.</param>
/// <param name="Maximum">The longest accepted.</param>
/// <param name="Example">Examples for messages, such as <c>5s, 1m30s</c>.</param>
public sealed record DurationRange(TimeSpan Minimum, TimeSpan Maximum, string Example)
{
    /// <summary>Parses <paramref name="text"/> within the range; <paramref name="problem"/> says why not (without the field name).</summary>
    public bool TryParse(string? text, out TimeSpan duration, out string? problem)
    {
        problem = null;
        if (GoDuration.TryParse(text, out duration) && duration >= Minimum && duration <= Maximum)
        {
            return true;
        }

        var lowest = Minimum == TimeSpan.Zero ? "0s" : GoDuration.Format(Minimum);
        problem = $"must be a duration from {lowest} to {GoDuration.Format(Maximum)} such as {Example}, got '{text}'";
        return false;
    }
}

/// <summary>The documented ranges (docs/routing.md, docs/sandboxctl.md, docs/server.md).</summary>
public static class DurationRanges
{
    /// <summary>A route's <c>timeout</c>: <c>0s</c> (no timeout, as in Envoy) to 24 hours.</summary>
    public static readonly DurationRange RouteTimeout = new(TimeSpan.Zero, TimeSpan.FromHours(24), "500ms, 5s or 1m30s");

    /// <summary>A Sandbox's <c>spec.ttl</c>: one second to one year (8760h).</summary>
    public static readonly DurationRange SandboxTtl = new(TimeSpan.FromSeconds(1), TimeSpan.FromHours(8760), "30m or 24h");

    /// <summary>How long a CLI command waits (<c>--timeout</c>): one millisecond to 24 hours.</summary>
    public static readonly DurationRange CliWait = new(TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(24), "30s or 2m");
}
