using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace XdsControlPlane.Model;

/// <summary>An object read from a manifest, with where it came from.</summary>
/// <param name="Resource">The object.</param>
/// <param name="Location">The file and document it was read from.</param>
public sealed record ManifestObject(IManifestObject Resource, ManifestLocation Location);

/// <summary>What <see cref="ManifestReader.Read"/> found in one file.</summary>
/// <param name="Objects">The objects the control plane reads, in document order.</param>
/// <param name="Problems">Documents that could not be read, with the field and reason.</param>
/// <param name="IgnoredKinds">Documents of other kinds (Deployments…), which the control plane does not read.</param>
public sealed record ManifestReadResult(IReadOnlyList<ManifestObject> Objects, IReadOnlyList<ManifestProblem> Problems, IReadOnlyList<string> IgnoredKinds);

/// <summary>
/// Reads Kubernetes-style YAML or JSON manifests (several documents per file) into the model: RouteGroups, Sandboxes,
/// LocalWorkloads, Services and EndpointSlices. Unknown fields in the product's own kinds are errors (they are
/// usually typos); unknown fields of Kubernetes kinds are ignored.
/// </summary>
public static partial class ManifestReader
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
    };

    /// <summary>Reads every document of <paramref name="text"/>; <paramref name="source"/> names it in problems.</summary>
    public static ManifestReadResult Read(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        IReadOnlyList<YamlToJson.Document> documents;
        try
        {
            documents = YamlToJson.Convert(text);
        }
        catch (YamlException e)
        {
            var location = new ManifestLocation(source, YamlToJson.DocumentOf(text, e), (int)e.Start.Line);
            return new ManifestReadResult([], [new ManifestProblem(null, "", $"not valid YAML: {e.Message}", location)], []);
        }

        var objects = new List<ManifestObject>();
        var problems = new List<ManifestProblem>();
        var ignored = new List<string>();
        for (var index = 0; index < documents.Count; index++)
        {
            var document = documents[index];
            var location = new ManifestLocation(source, index, document.StartLine);
            if (document.Json is null)
            {
                continue;
            }

            if (document.Json is not JsonObject json)
            {
                problems.Add(new ManifestProblem(null, "", "a manifest document must be a mapping with apiVersion and kind", location));
                continue;
            }

            var apiVersion = Text(json, "apiVersion");
            var kind = Text(json, "kind");
            if (apiVersion is null || kind is null)
            {
                problems.Add(new ManifestProblem(null, apiVersion is null ? "apiVersion" : "kind", "required", location));
                continue;
            }

            var type = TypeOf(apiVersion, kind, out var typeProblem);
            if (typeProblem is not null)
            {
                problems.Add(new ManifestProblem(null, "apiVersion", typeProblem, location));
                continue;
            }

            if (type is null)
            {
                ignored.Add($"{apiVersion}/{kind}");
                continue;
            }

            if (EmptyListItem(json) is { } empty)
            {
                problems.Add(new ManifestProblem(KeyOf(kind, json), FieldPath(empty), "list item is empty (null)", location with { Line = LineOf(document, empty) }));
                continue;
            }

            try
            {
                var obj = (IManifestObject)json.Deserialize(type, Options)!;
                objects.Add(new ManifestObject(obj, location));
            }
            catch (JsonException e)
            {
                var key = KeyOf(kind, json);
                var path = e.Path ?? "$";
                var line = LineOf(document, path);
                problems.Add(new ManifestProblem(key, FieldPath(path), Describe(e), location with { Line = line }));
            }
        }

        return new ManifestReadResult(objects, problems, ignored);
    }

    private static Type? TypeOf(string apiVersion, string kind, out string? problem)
    {
        problem = null;
        switch (kind)
        {
            case RouteGroup.KindName or Sandbox.KindName or LocalWorkload.KindName when apiVersion.StartsWith("sandboxctl.io/", StringComparison.Ordinal):
                if (apiVersion != ApiVersions.Sandboxctl)
                {
                    problem = $"{kind} is served as {ApiVersions.Sandboxctl}, got '{apiVersion}'";
                    return null;
                }

                return kind switch
                {
                    RouteGroup.KindName => typeof(RouteGroup),
                    Sandbox.KindName => typeof(Sandbox),
                    _ => typeof(LocalWorkload),
                };
            case KubeService.KindName when apiVersion == ApiVersions.CoreV1:
                return typeof(KubeService);
            case EndpointSlice.KindName when apiVersion == ApiVersions.DiscoveryV1:
                return typeof(EndpointSlice);
            default:
                if (apiVersion.StartsWith("sandboxctl.io/", StringComparison.Ordinal))
                {
                    problem = $"unknown kind '{kind}' in {apiVersion}; expected RouteGroup, Sandbox or LocalWorkload";
                }

                return null;
        }
    }

    private static string? Text(JsonObject json, string property) =>
        json[property] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0 ? text : null;

    private static ResourceKey KeyOf(string kind, JsonObject json)
    {
        var metadata = json["metadata"] as JsonObject;
        return new ResourceKey(
            kind,
            metadata is null ? ObjectMeta.DefaultNamespace : Text(metadata, "namespace") ?? ObjectMeta.DefaultNamespace,
            metadata is null ? "" : Text(metadata, "name") ?? "");
    }

    private static int? LineOf(YamlToJson.Document document, string path)
    {
        for (var candidate = path; candidate.Length > 0; candidate = Parent(candidate))
        {
            if (document.Lines.TryGetValue(candidate, out var line))
            {
                return line;
            }
        }

        return document.StartLine;

        static string Parent(string path)
        {
            var cut = path.LastIndexOfAny(['.', '[']);
            return cut <= 0 ? "" : path[..cut];
        }
    }

    /// <summary>The path of the first null list item (a bare <c>-</c> or <c>~</c>): the model's lists cannot hold one.</summary>
    private static string? EmptyListItem(JsonNode? node) => node switch
    {
        JsonObject obj => obj.Select(member => EmptyListItem(member.Value)).FirstOrDefault(path => path is not null),
        JsonArray array => array.Select((item, i) => item is null ? $"{array.GetPath()}[{i}]" : EmptyListItem(item)).FirstOrDefault(path => path is not null),
        _ => null,
    };

    private static string FieldPath(string jsonPath) => jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');

    private static string Describe(JsonException e)
    {
        var message = e.Message;
        var unmapped = UnmappedProperty().Match(message);
        if (unmapped.Success)
        {
            return $"unknown field '{unmapped.Groups["name"].Value}'";
        }

        var converted = ConversionTarget().Match(message);
        if (converted.Success)
        {
            return $"expected {Friendly(converted.Groups["type"].Value)}";
        }

        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    private static string Friendly(string type) => type switch
    {
        _ when type.Contains("System.Int32", StringComparison.Ordinal) || type.Contains("System.Int64", StringComparison.Ordinal) => "an integer",
        _ when type.Contains("System.Boolean", StringComparison.Ordinal) => "true or false",
        _ when type.Contains("IReadOnlyDictionary", StringComparison.Ordinal) => "a map of strings",
        _ when type.Contains("IReadOnlyList", StringComparison.Ordinal) => "a list",
        "System.String" => "a string (quote numbers and booleans)",
        _ => "an object",
    };

    [GeneratedRegex("The JSON property '(?<name>[^']*)' could not be mapped", RegexOptions.CultureInvariant)]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex("could not be converted to (?<type>[^ ]+?)\\.? Path", RegexOptions.CultureInvariant)]
    private static partial Regex ConversionTarget();
}
