using System.Text.RegularExpressions;

namespace XdsControlPlane.Model;

/// <summary>A syntax check for RE2 expressions (what Envoy's <c>safe_regex</c> accepts) without an RE2 engine.</summary>
internal static partial class Re2Syntax
{
    /// <summary>Why <paramref name="pattern"/> is not RE2, or <see langword="null"/> when it looks fine.</summary>
    public static string? Check(string pattern)
    {
        if (pattern.Length == 0)
        {
            return "must not be empty";
        }

        if (Unsupported().Match(pattern) is { Success: true } construct)
        {
            return $"'{construct.Value}' is not supported by RE2 (no lookaround, backreferences or atomic groups)";
        }

        try
        {
            _ = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            return null;
        }
        catch (ArgumentException e)
        {
            return $"not a valid regular expression: {e.Message}";
        }
    }

    [GeneratedRegex(@"\(\?<?[=!]|\(\?>|\\[1-9]|\\k<", RegexOptions.CultureInvariant)]
    private static partial Regex Unsupported();
}
