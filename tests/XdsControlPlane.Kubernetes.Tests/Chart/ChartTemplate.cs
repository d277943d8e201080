using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes.Tests.Chart;

/// <summary>One YAML document of a template: its static JSON and the control actions (<c>if X</c>, <c>range X</c>, <c>else of if X</c>) around it, outermost first.</summary>
internal sealed record ChartDocument(JsonObject Json, IReadOnlyList<string> Conditions)
{
    public string Kind => (string?)Json["kind"] ?? "";

    public string Name => (string?)Json["metadata"]?["name"] ?? "";

    /// <summary>Whether one of the conditions around this document is exactly <paramref name="condition"/>.</summary>
    public bool Under(string condition) => Conditions.Contains(condition, StringComparer.Ordinal);
}

/// <summary>
/// The static parts of a Helm template, read without Helm (no Go template engine here): what a test can check of a
/// chart without rendering it. Limits, on purpose:
/// <list type="bullet">
/// <item>A line that is one control action (<c>{{- if X }}</c>, <c>range</c>, <c>with</c>, <c>else</c>, <c>end</c>) is
/// dropped and recorded as a condition of the documents that start inside it; every branch is kept, so a template must
/// not repeat a key across an if/else (the reader fails on the duplicate, as YAML does).</item>
/// <item>A line that is one <c>include "name" . | nindent N</c> becomes the static body of that <c>define</c> (from
/// <c>_helpers.tpl</c>) indented N; a line that is any other lone action (<c>toYaml</c> of a value) is dropped.</item>
/// <item>Any other action inside a line becomes a placeholder <c>TEMPLATE_n</c>; <see cref="Action"/> gives its text.
/// Control actions inside a line are refused (their branches cannot be kept apart).</item>
/// <item>Comments <c>{{/* */}}</c> are dropped; defines may not nest blocks.</item>
/// </list>
/// </summary>
internal sealed partial class ChartTemplate
{
    private readonly List<string> _actions = [];

    private ChartTemplate(string name) => Name = name;

    /// <summary>The template's file name.</summary>
    public string Name { get; }

    /// <summary>The template's documents, in order.</summary>
    public IReadOnlyList<ChartDocument> Documents { get; private set; } = [];

    /// <summary>The action a placeholder stands for (<c>TEMPLATE_3</c> → <c>.Release.Namespace</c>); other text is returned unchanged.</summary>
    public string Action(string? placeholder) =>
        placeholder is not null && Placeholder().Match(placeholder) is { Success: true } match && match.Length == placeholder.Length
            ? _actions[int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)]
            : placeholder ?? "";

    /// <summary>The static bodies of the <c>define</c>s in <paramref name="helpers"/> (a chart's <c>_helpers.tpl</c>), by name.</summary>
    public static IReadOnlyDictionary<string, string> Defines(string helpers)
    {
        var defines = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match define in Define().Matches(Comment().Replace(helpers, "")))
        {
            var body = define.Groups[2].Value.TrimStart('\n').TrimEnd();
            if (ControlInLine().IsMatch(body))
            {
                throw new FormatException($"define \"{define.Groups[1].Value}\" holds a control action; the reader cannot keep its branches apart");
            }

            defines[define.Groups[1].Value] = body;
        }

        return defines;
    }

    /// <summary>Reads the template <paramref name="name"/> (its text <paramref name="text"/>) with the chart's <paramref name="defines"/>.</summary>
    /// <exception cref="FormatException">A construct the reader does not handle, or a static part that is not YAML; the message names the template and line.</exception>
    public static ChartTemplate Read(string name, string text, IReadOnlyDictionary<string, string> defines)
    {
        var template = new ChartTemplate(name);
        var conditions = new List<string>();
        var documents = new List<ChartDocument>();
        var current = new StringBuilder();
        IReadOnlyList<string>? startedUnder = null;
        var lines = Comment().Replace(text, "").Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');

        void Flush()
        {
            var yaml = current.ToString();
            current.Clear();
            if (startedUnder is null)
            {
                return;
            }

            try
            {
                if (YamlJson.Convert(yaml) is JsonObject json)
                {
                    documents.Add(new ChartDocument(json, startedUnder));
                }
            }
            catch (Exception e) when (e is YamlDotNet.Core.YamlException or ArgumentException or FormatException)
            {
                throw new FormatException($"{name}: a document's static part is not YAML ({e.Message}):\n{yaml}", e);
            }

            startedUnder = null;
        }

        void Add(string line)
        {
            if (startedUnder is null && line.Trim() is { Length: > 0 } content && !content.StartsWith('#'))
            {
                startedUnder = [.. conditions];
            }

            current.Append(line).Append('\n');
        }

        for (var number = 1; number <= lines.Length; number++)
        {
            var line = lines[number - 1];
            if (line == "---")
            {
                Flush();
                continue;
            }

            if (WholeLineAction().Match(line) is { Success: true } whole && !whole.Groups[1].Value.Contains("}}", StringComparison.Ordinal))
            {
                var action = whole.Groups[1].Value.Trim();
                switch (action.Split(' ', 2)[0])
                {
                    case "if" or "range" or "with":
                        conditions.Add(action);
                        break;
                    case "else":
                        conditions[^1] = $"else of {conditions[^1]}{(action.Length > "else".Length ? $"; {action["else ".Length..]}" : "")}";
                        break;
                    case "end":
                        conditions.RemoveAt(conditions.Count - 1);
                        break;
                    case "include" when Include().Match(action) is { Success: true } include:
                        var indent = new string(' ', int.Parse(include.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
                        var body = defines.TryGetValue(include.Groups[1].Value, out var found)
                            ? found
                            : throw new FormatException($"{name}:{number}: no define \"{include.Groups[1].Value}\" in _helpers.tpl");
                        foreach (var included in body.Split('\n'))
                        {
                            Add(indent + template.Placeholders(included, name, number));
                        }

                        break;
                    default:
                        break;   // toYaml of a value and the like: its content is not static.
                }

                continue;
            }

            Add(template.Placeholders(line, name, number));
        }

        Flush();
        if (conditions.Count > 0)
        {
            throw new FormatException($"{name}: {conditions.Count} block(s) not ended ({string.Join(", ", conditions)})");
        }

        template.Documents = documents;
        return template;
    }

    /// <summary><paramref name="line"/> with every action replaced by a placeholder.</summary>
    private string Placeholders(string line, string name, int number)
    {
        if (ControlInLine().IsMatch(line))
        {
            throw new FormatException($"{name}:{number}: a control action inside a line (put it on a line of its own): {line.Trim()}");
        }

        return InlineAction().Replace(line, match =>
        {
            _actions.Add(match.Groups[1].Value.Trim());
            return $"TEMPLATE_{_actions.Count - 1}";
        });
    }

    [GeneratedRegex(@"\{\{-?\s*/\*.*?\*/\s*-?\}\}\n?", RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex("""\{\{-?\s*define\s+"([^"]+)"\s*-?\}\}(.*?)\{\{-?\s*end\s*-?\}\}""", RegexOptions.Singleline)]
    private static partial Regex Define();

    [GeneratedRegex(@"^\s*\{\{-?(.*?)-?\}\}\s*$")]
    private static partial Regex WholeLineAction();

    [GeneratedRegex(@"\{\{-?(.*?)-?\}\}")]
    private static partial Regex InlineAction();

    [GeneratedRegex(@"\{\{-?\s*(if|else|end|range|with)\b")]
    private static partial Regex ControlInLine();

    [GeneratedRegex("""^include\s+"([^"]+)"\s+\$?\.?\s*\|\s*n?indent\s+(\d+)$""")]
    private static partial Regex Include();

    [GeneratedRegex(@"TEMPLATE_(\d+)")]
    private static partial Regex Placeholder();
}
