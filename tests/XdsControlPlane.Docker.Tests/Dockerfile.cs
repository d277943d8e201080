using System.Text.RegularExpressions;

namespace XdsControlPlane.Docker.Tests;

/// <summary>
/// A Dockerfile read the way the builder reads it: comments and blank lines dropped, backslash continuations joined,
/// instructions grouped by build stage (<c>FROM … AS name</c>). Enough to check what an image will be without building it.
/// </summary>
internal sealed partial class Dockerfile
{
    private Dockerfile(IReadOnlyList<Stage> stages) => Stages = stages;

    /// <summary>The build stages in order; the last one is the image.</summary>
    public IReadOnlyList<Stage> Stages { get; }

    /// <summary>The stage the image is made of.</summary>
    public Stage Final => Stages[^1];

    /// <summary>Reads <paramref name="path"/>.</summary>
    public static Dockerfile Load(string path) => Parse(File.ReadAllText(path));

    /// <summary>Parses Dockerfile text; instructions before the first FROM (global ARGs) are ignored.</summary>
    public static Dockerfile Parse(string text)
    {
        var stages = new List<Stage>();
        foreach (var line in LogicalLines(text))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var keyword = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var arguments = space < 0 ? "" : line[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                var from = FromLine().Match(arguments);
                stages.Add(new Stage(from.Groups["image"].Value, from.Groups["name"].Success ? from.Groups["name"].Value : null));
            }
            else if (stages.Count > 0)
            {
                stages[^1].Instructions.Add(new Instruction(keyword, arguments));
            }
        }

        return stages.Count > 0 ? new Dockerfile(stages) : throw new FormatException("the Dockerfile has no FROM");
    }

    private static IEnumerable<string> LogicalLines(string text)
    {
        var pending = "";
        foreach (var raw in text.ReplaceLineEndings("\n").Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || line.Length == 0 && pending.Length == 0)
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1].TrimEnd() + " ";
                continue;
            }

            yield return pending + line;
            pending = "";
        }

        if (pending.Length > 0)
        {
            yield return pending.Trim();
        }
    }

    [GeneratedRegex(@"^(--platform=\S+\s+)?(?<image>\S+)(\s+AS\s+(?<name>\S+))?$", RegexOptions.IgnoreCase)]
    private static partial Regex FromLine();

    /// <summary>One build stage: its base image, its name and its instructions after FROM.</summary>
    internal sealed record Stage(string BaseImage, string? Name)
    {
        /// <summary>The instructions of the stage, in order.</summary>
        public List<Instruction> Instructions { get; } = [];

        /// <summary>The arguments of every instruction <paramref name="keyword"/> of this stage.</summary>
        public IEnumerable<string> All(string keyword) => Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);

        /// <summary>The arguments of the last instruction <paramref name="keyword"/> (the one in force), or null.</summary>
        public string? Last(string keyword) => All(keyword).LastOrDefault();

        /// <summary>The ENV settings of the stage, in the <c>ENV NAME=value</c> form (a later one overrides).</summary>
        public IReadOnlyDictionary<string, string> Environment()
        {
            var variables = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var setting in All("ENV").SelectMany(arguments => arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            {
                var equals = setting.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new FormatException($"ENV {setting}: only the NAME=value form is read");
                }

                variables[setting[..equals]] = setting[(equals + 1)..].Trim('"');
            }

            return variables;
        }
    }

    /// <summary>One instruction: its keyword in upper case and the rest of its (joined) line.</summary>
    internal sealed record Instruction(string Keyword, string Arguments);
}
