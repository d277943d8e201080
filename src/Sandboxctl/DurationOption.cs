using System.CommandLine;
using System.Globalization;
using XdsControlPlane.Model;

namespace Sandboxctl;

/// <summary>
/// A duration flag: a Go-style duration (<c>90s</c>, <c>2m</c>) or <c>hh:mm:ss</c>, within a documented range. A value
/// out of range or not a duration is a usage error naming the flag (exit code 1), never an exception.
/// </summary>
internal static class DurationOption
{
    /// <summary>The flag <paramref name="name"/> with <paramref name="defaultValue"/>, accepting <paramref name="range"/>.</summary>
    public static Option<TimeSpan> Create(string name, string description, TimeSpan defaultValue, DurationRange range) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if ((GoDuration.TryParse(text, out var value) || TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value)) && value >= range.Minimum && value <= range.Maximum)
            {
                return value;
            }

            result.AddError($"{name} must be a duration from {GoDuration.Format(range.Minimum)} to {GoDuration.Format(range.Maximum)} such as {range.Example} or 00:02:00, got '{text}'.");
            return default;
        },
    };
}
