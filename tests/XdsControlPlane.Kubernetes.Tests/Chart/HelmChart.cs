using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests.Chart;

/// <summary>The chart <c>charts/xds-control-plane</c> as files: values, schema, README and the static parts of its templates (<see cref="ChartTemplate"/>).</summary>
internal sealed partial class HelmChart
{
    private HelmChart(string directory)
    {
        Directory = directory;
        Values = (JsonObject)YamlJson.Convert(File.ReadAllText(Path.Combine(directory, "values.yaml")))!;
        Schema = (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "values.schema.json")))!;
        Readme = File.ReadAllText(Path.Combine(directory, "README.md"));
        var templates = Path.Combine(directory, "templates");
        var helpers = File.ReadAllText(Path.Combine(templates, "_helpers.tpl"));
        var defines = ChartTemplate.Defines(helpers);
        Templates = [.. System.IO.Directory.GetFiles(templates, "*.yaml").Order(StringComparer.Ordinal)
            .Select(file => ChartTemplate.Read(Path.GetFileName(file), File.ReadAllText(file), defines))];
        TemplateTexts = System.IO.Directory.GetFiles(templates).Order(StringComparer.Ordinal)
            .ToDictionary(file => Path.GetFileName(file), File.ReadAllText, StringComparer.Ordinal);
    }

    /// <summary>The chart in this repository.</summary>
    public static HelmChart Load() => new(RepoDirectory.Path("charts", "xds-control-plane"));

    public string Directory { get; }

    public JsonObject Values { get; }

    public JsonObject Schema { get; }

    public string Readme { get; }

    public IReadOnlyList<ChartTemplate> Templates { get; }

    /// <summary>Every file of <c>templates/</c> (YAML, <c>_helpers.tpl</c>, <c>NOTES.txt</c>) by name.</summary>
    public IReadOnlyDictionary<string, string> TemplateTexts { get; }

    /// <summary>The template <paramref name="name"/>.</summary>
    public ChartTemplate Template(string name) => Templates.Single(t => t.Name == name);

    /// <summary>The one document of <paramref name="kind"/> named <paramref name="name"/> in any template, with its template.</summary>
    public (ChartTemplate Template, ChartDocument Document) Find(string kind, string name) =>
        Templates.SelectMany(t => t.Documents.Select(d => (t, d))).Single(x => x.d.Kind == kind && x.d.Name == name);

    /// <summary>
    /// Every path of <c>values.yaml</c> whose value is not an object (<c>image.tag</c>, <c>watchNamespaces</c>), and every
    /// empty object (<c>nodeSelector: {}</c>, a map the user fills).
    /// </summary>
    public IReadOnlyList<string> ValuePaths() => [.. Leaves(Values, "")];

    /// <summary>Every <c>.Values.x.y</c> a template file names (<c>$.Values</c> too).</summary>
    public IReadOnlySet<string> ValueReferences() =>
        TemplateTexts.Values.SelectMany(text => ValuesReference().Matches(text).Select(m => m.Groups[1].Value)).ToHashSet(StringComparer.Ordinal);

    /// <summary>The rows of the README's values table: the value path and the default, each the backquoted text of its cell.</summary>
    public IReadOnlyList<(string Path, string Default)> ReadmeTable() =>
        [.. ReadmeRow().Matches(Readme).Select(m => (m.Groups[1].Value, m.Groups[2].Value))];

    /// <summary>The value at <paramref name="path"/> as the README's table writes a default: a string bare (<c>""</c> when empty), anything else as JSON.</summary>
    public string DefaultText(string path)
    {
        var node = path.Split('.').Aggregate((JsonNode?)Values, (n, part) => n?[part]);
        return node is JsonValue value && value.TryGetValue<string>(out var text) ? (text.Length == 0 ? "\"\"" : text) : node?.ToJsonString() ?? "null";
    }

    private static IEnumerable<string> Leaves(JsonObject obj, string prefix)
    {
        foreach (var (key, value) in obj)
        {
            var path = prefix.Length == 0 ? key : $"{prefix}.{key}";
            if (value is JsonObject child && child.Count > 0)
            {
                foreach (var leaf in Leaves(child, path))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return path;
            }
        }
    }

    [GeneratedRegex(@"\$?\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")]
    private static partial Regex ValuesReference();

    [GeneratedRegex(@"^\|\s*`([A-Za-z0-9_.]+)`\s*\|\s*`([^`]*)`\s*\|", RegexOptions.Multiline)]
    private static partial Regex ReadmeRow();
}
