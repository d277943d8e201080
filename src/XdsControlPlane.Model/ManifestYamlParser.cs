using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace XdsControlPlane.Model;

/// <summary>
/// Parses the YAML documents of a manifest file into JSON the way Kubernetes reads them (YAML 1.2 core schema for
/// plain scalars; quoted scalars stay strings; null-valued keys are dropped), remembering the line of every JSON path
/// so that problems found in the JSON can name their line. <see cref="YamlJson"/> is the public conversion built on it.
/// </summary>
internal static class ManifestYamlParser
{
    /// <summary>The JSON of a single-document YAML text.</summary>
    public static JsonNode? ParseSingle(string text) => Parse(text) is [var only] ? only.Json : throw new YamlException("expected exactly one YAML document");

    /// <summary>One parsed document: its JSON and the 1-based line of each path (<c>$.spec.routes[0]</c>).</summary>
    public sealed record Document(JsonNode? Json, IReadOnlyDictionary<string, int> Lines, int StartLine)
    {
        /// <summary>The line of <paramref name="path"/> (a System.Text.Json path), else of its nearest parent that has one, else the document's first.</summary>
        public int LineOf(string path)
        {
            for (var candidate = path; candidate.Length > 0; candidate = Parent(candidate))
            {
                if (Lines.TryGetValue(candidate, out var line))
                {
                    return line;
                }
            }

            return StartLine;

            static string Parent(string path)
            {
                var cut = path.LastIndexOfAny(['.', '[']);
                return cut <= 0 ? "" : path[..cut];
            }
        }
    }

    /// <summary>Parses every document of <paramref name="text"/> within <see cref="ManifestLimits"/> (checked while the tree is built).</summary>
    /// <exception cref="YamlException">The text is not valid YAML, or exceeds a limit.</exception>
    public static IReadOnlyList<Document> Parse(string text)
    {
        // One pass: the limits are checked on each event before the tree loader sees it.
        var stream = new YamlStream();
        using (var reader = new StringReader(text))
        {
            stream.Load(ManifestLimits.Checking(new Parser(reader)));
        }

        var documents = new List<Document>(stream.Documents.Count);
        foreach (var document in stream.Documents)
        {
            var lines = new Dictionary<string, int>(StringComparer.Ordinal);
            var json = ToJson(document.RootNode, "$", lines, depth: 0);
            documents.Add(new Document(json, lines, (int)document.RootNode.Start.Line));
        }

        return documents;
    }

    /// <summary>The 0-based index of the document of <paramref name="text"/> that <paramref name="error"/> is in.</summary>
    public static int DocumentIndexOf(string text, YamlException error)
    {
        using var reader = new StringReader(text);
        var parser = new Parser(reader);
        var started = 0;
        try
        {
            while (parser.MoveNext() && parser.Current!.Start.Index < error.Start.Index)
            {
                started += parser.Current is DocumentStart ? 1 : 0;
            }
        }
        catch (YamlException)
        {
            // A syntax error stops this parse at the same place.
        }

        return Math.Max(0, started - 1);
    }

    private static JsonNode? ToJson(YamlNode node, string path, Dictionary<string, int> lines, int depth)
    {
        // The text was checked for depth, but aliases can nest what they expand deeper still.
        if (depth > ManifestLimits.MaxDepth)
        {
            throw new YamlException(node.Start, node.End, $"mappings and sequences are nested deeper than {ManifestLimits.MaxDepth} levels (with aliases expanded)");
        }

        lines[path] = (int)node.Start.Line;
        switch (node)
        {
            case YamlMappingNode mapping:
                var obj = new JsonObject();
                foreach (var (keyNode, valueNode) in mapping.Children)
                {
                    var key = keyNode is YamlScalarNode { Value: { } k } ? k : throw new YamlException(keyNode.Start, keyNode.End, "mapping keys must be plain strings");
                    var value = ToJson(valueNode, Member(path, key), lines, depth + 1);
                    if (value is null)
                    {
                        continue;
                    }

                    obj[key] = value;
                }

                return obj;
            case YamlSequenceNode sequence:
                var array = new JsonArray();
                var index = 0;
                foreach (var item in sequence.Children)
                {
                    array.Add(ToJson(item, $"{path}[{index}]", lines, depth + 1));
                    index++;
                }

                return array;
            case YamlScalarNode scalar:
                return Scalar(scalar);
            default:
                throw new YamlException(node.Start, node.End, "YAML aliases are not supported in manifests");
        }
    }

    /// <summary>
    /// The path of member <paramref name="key"/> written the way System.Text.Json writes it (<c>$.spec.port</c>, but
    /// <c>$.metadata.labels['app.kubernetes.io/name']</c>), so that the paths of its exceptions find their line here.
    /// </summary>
    private static string Member(string path, string key) => path + new JsonObject { [key] = 0 }[key]!.GetPath()[1..];

    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style is not ScalarStyle.Plain)
        {
            return JsonValue.Create(value);
        }

        switch (value)
        {
            case "" or "~" or "null" or "Null" or "NULL":
                return null;
            case "true" or "True" or "TRUE":
                return JsonValue.Create(true);
            case "false" or "False" or "FALSE":
                return JsonValue.Create(false);
        }

        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return JsonValue.Create(integer);
        }

        if (value.Length > 0 && (char.IsDigit(value[0]) || value[0] is '-' or '+' or '.')
            && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
        {
            return JsonValue.Create(real);
        }

        return JsonValue.Create(value);
    }
}
