using System.Text;
using System.Text.RegularExpressions;

namespace Sandboxctl.Local.PodEnvironment;

/// <summary>
/// The environment as a dotenv file, one <c>NAME=VALUE</c> a line, quoted so the common readers (docker compose,
/// python-dotenv, the Node and Go dotenv packages, and <c>set -a; . ./.env</c> for the first two forms) read back the
/// exact value: bare when the value holds only <c>[A-Za-z0-9_./:@%+,=-]</c>; in single quotes (nothing escaped)
/// when it holds no <c>'</c>, backslash or line break; else in double quotes with <c>\\</c>, <c>\"</c>, <c>\n</c>,
/// <c>\r</c>, <c>\t</c> and <c>\$</c> (python-dotenv keeps <c>\$</c> as written; Node's dotenv reads only <c>\n</c>
/// and <c>\r</c>). Written with mode 0600 from the start (a temporary file, renamed over the path).
/// </summary>
internal static partial class DotenvFile
{
    /// <summary>The file's text for <paramref name="variables"/> (in their order), after comment lines naming what was left out.</summary>
    public static string Format(IEnumerable<KeyValuePair<string, string>> variables, IEnumerable<string> comments)
    {
        ArgumentNullException.ThrowIfNull(variables);
        ArgumentNullException.ThrowIfNull(comments);
        var text = new StringBuilder();
        foreach (var comment in comments)
        {
            // A comment is one line: a name or reason with a line break would start a variable.
            text.Append("# ").Append(comment.ReplaceLineEndings(" ")).Append('\n');
        }

        foreach (var (name, value) in variables)
        {
            text.Append(name).Append('=').Append(Quote(value)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary><paramref name="value"/> as a dotenv value.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > 0 && Bare().IsMatch(value))
        {
            return value;
        }

        if (value.IndexOfAny(['\'', '\\', '\n', '\r']) < 0)
        {
            return $"'{value}'";
        }

        var text = new StringBuilder("\"", value.Length + 8);
        foreach (var c in value)
        {
            text.Append(c switch
            {
                '\\' => "\\\\",
                '"' => "\\\"",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '$' => "\\$",
                _ => c.ToString(),
            });
        }

        return text.Append('"').ToString();
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/>, readable by the user only (0600 on Unix) at every moment.</summary>
    public static void Write(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        var temporary = $"{full}.{Environment.ProcessId}.tmp";
        // A new file, so the mode below applies (a leftover temporary file may have another).
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
            {
                writer.Write(text);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Whether <paramref name="name"/> can stand in a dotenv file (and a shell): letters, digits, <c>_</c>, not starting with a digit.</summary>
    public static bool IsName(string name) => NameRegex().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9_./:@%+,=-]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex Bare();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*\\z", RegexOptions.CultureInvariant)]
    private static partial Regex NameRegex();
}
