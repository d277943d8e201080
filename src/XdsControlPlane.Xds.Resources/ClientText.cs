using System.Globalization;
using System.Text;

namespace XdsControlPlane.Xds.Resources;

/// <summary>
/// Client-supplied text (node ids, clusters, user agents, NACK messages) made safe to keep, print on a terminal and
/// write to a plain-text log: no escape sequences, no line breaks that could forge a log line, and a cap on length.
/// </summary>
public static class ClientText
{
    /// <summary>The most characters kept of a name: node id, node cluster, locality, user agent, client feature.</summary>
    public const int MaxNameLength = 512;

    /// <summary>The most characters kept of a message: a NACK's <c>error_detail.message</c>.</summary>
    public const int MaxMessageLength = 4096;

    /// <summary>
    /// <paramref name="text"/> with every control or format character (escape sequences, CR, LF, bidi overrides)
    /// replaced by <c>?</c>, trimmed and capped at <paramref name="max"/> characters (an ellipsis marks the cut).
    /// </summary>
    public static string Printable(string? text, int max) => Clean(text, max, lineBreak: '?');

    /// <summary>
    /// Like <see cref="Printable"/>, but line breaks and tabs become a space (a multi-line message stays readable on
    /// one line), so the result never spans lines.
    /// </summary>
    public static string OneLine(string? text, int max) => Clean(text, max, lineBreak: ' ');

    private static string Clean(string? text, int max, char lineBreak)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var builder = new StringBuilder(Math.Min(text.Length, max + 1));
        foreach (var rune in text.EnumerateRunes())
        {
            if (builder.Length >= max)
            {
                builder.Append('…');
                break;
            }

            if (rune.Value is '\r' or '\n' or '\t' or '\v' or '\f' or 0x85 or 0x2028 or 0x2029)
            {
                builder.Append(lineBreak);
                continue;
            }

            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned)
            {
                builder.Append('?');
            }
            else
            {
                builder.Append(rune.ToString());
            }
        }

        return builder.ToString().Trim();
    }
}
