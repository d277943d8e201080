using System.Text.Json.Nodes;
using YamlDotNet.Core;

namespace XdsControlPlane.Model;

/// <summary>
/// Converts between YAML and JSON: a YAML text to JSON the way manifests are read (YAML 1.2 core schema, quoted scalars
/// stay strings; see <see cref="ManifestYamlParser"/>), and JSON to block-style YAML for output.
/// </summary>
public static class YamlJson
{
    /// <summary>Converts a single-document YAML text to JSON.</summary>
    /// <exception cref="YamlException">Not valid YAML, or not exactly one document.</exception>
    public static JsonNode? Convert(string yaml) => ManifestYamlParser.ParseSingle(yaml);

    /// <summary>Writes JSON as block-style YAML (strings that would read as other types are quoted).</summary>
    public static string ToYaml(JsonNode? document) =>
        new YamlDotNet.Serialization.SerializerBuilder().DisableAliases().Build().Serialize(ToPlain(document));

    private static object? ToPlain(JsonNode? node) => node switch
    {
        JsonObject obj => obj.ToDictionary(p => p.Key, p => ToPlain(p.Value)),
        JsonArray array => array.Select(ToPlain).ToList(),
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        JsonValue value when value.TryGetValue<bool>(out var flag) => flag,
        JsonValue value when value.TryGetValue<long>(out var integer) => integer,
        JsonValue value when value.TryGetValue<double>(out var real) => real,
        JsonValue value => value.ToJsonString(),
        _ => null,
    };
}
