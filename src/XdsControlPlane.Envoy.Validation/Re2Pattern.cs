using System.Text;
using System.Text.RegularExpressions;

namespace XdsControlPlane.Envoy.Validation;

/// <summary>
/// Compiles the RE2 patterns of <c>validate.rules</c> with .NET regular expressions, translating where the two
/// dialects differ: <c>$</c> only matches at the very end (RE2) instead of also before a final newline (.NET);
/// <c>\d</c>, <c>\w</c> and <c>\s</c> are ASCII-only; <c>(?P&lt;name&gt;</c> groups become <c>(?&lt;name&gt;</c>.
/// Like RE2 they run in time linear in the input (<see cref="RegexOptions.NonBacktracking"/>), so they need no match
/// timeout: a timeout is measured on the wall clock, and on a busy machine it fired on a 20-character header value and
/// failed a whole publication.
/// </summary>
internal static class Re2Pattern
{
    /// <summary>Compiles <paramref name="pattern"/>; throws <see cref="ArgumentException"/> when it is not valid.</summary>
    public static Regex Compile(string pattern) =>
        new(Translate(pattern), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);

    internal static string Translate(string pattern)
    {
        var result = new StringBuilder(pattern.Length + 8);
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                var next = pattern[++i];
                result.Append(next switch
                {
                    'd' => inClass ? "0-9" : "[0-9]",
                    'w' => inClass ? "0-9A-Za-z_" : "[0-9A-Za-z_]",
                    's' => inClass ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]",
                    _ => string.Concat("\\", next.ToString()),
                });
                continue;
            }

            if (inClass)
            {
                inClass = c != ']' || result[^1] == '[' || (result[^1] == '^' && result[^2] == '[');
                result.Append(c);
            }
            else if (c == '[')
            {
                inClass = true;
                result.Append(c);
            }
            else if (c == '$')
            {
                result.Append("\\z");
            }
            else if (c == '(' && string.CompareOrdinal(pattern, i, "(?P<", 0, 4) == 0)
            {
                result.Append("(?<");
                i += 3;
            }
            else
            {
                result.Append(c);
            }
        }

        return result.ToString();
    }
}
