using System.Text.Json.Nodes;
using YamlDotNet.Core;

namespace XdsControlPlane.Model;

/// <summary>YAML to JSON the way manifests are read (YAML 1.2 core schema, quoted scalars stay strings).</summary>
public static class YamlJson
{
    /// <summary>Converts a single-document YAML text to JSON.</summary>
    /// <exception cref="YamlException">Not valid YAML, or not exactly one document.</exception>
    public static JsonNode? Convert(string yaml) => YamlToJson.ConvertSingle(yaml);
}
