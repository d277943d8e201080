using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;

namespace XdsControlPlane.Model;

/// <summary>An object read from a manifest, with where it came from.</summary>
/// <param name="Resource">The object.</param>
/// <param name="Location">The file and document it was read from.</param>
public sealed record ManifestObject(IManifestObject Resource, ManifestLocation Location);

/// <summary>What <see cref="ManifestReader.Read(string, string)"/> found in one file.</summary>
/// <param name="Objects">The objects the control plane reads, in document order.</param>
/// <param name="Problems">Documents that could not be read, with the field and reason.</param>
/// <param name="IgnoredKinds">Documents of other kinds (Deployments…), which the control plane does not read.</param>
public sealed record ManifestReadResult(IReadOnlyList<ManifestObject> Objects, IReadOnlyList<ManifestProblem> Problems, IReadOnlyList<string> IgnoredKinds);

/// <summary>
/// Reads Kubernetes-style YAML or JSON manifests (several documents per file) into the model: RouteGroups, Sandboxes,
/// LocalWorkloads, PreviewGrants, Services and EndpointSlices. Unknown fields in the product's own kinds are errors (they are
/// usually typos); unknown fields of Kubernetes kinds are ignored.
/// </summary>
public static class ManifestReader
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,

        // Above ManifestLimits.MaxDepth, so the YAML check always speaks first.
        MaxDepth = ManifestLimits.MaxDepth * 2,
    };

    /// <summary>
    /// Reads the file at <paramref name="path"/> (at most <see cref="ManifestLimits.MaxFileBytes"/>); a file that
    /// cannot be read gives one problem without a resource, so its last good objects stay in force.
    /// </summary>
    public static ManifestReadResult ReadFile(string path, string source) => ReadFile(path, source, documents: null);

    /// <summary>
    /// <see cref="ReadFile(string, string)"/>, reading again only the documents whose text changed since
    /// <paramref name="documents"/> last read this file (and remembering this version there), when given.
    /// </summary>
    internal static ManifestReadResult ReadFile(string path, string source, ManifestDocumentCache? documents)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(source);
        string text;
        try
        {
            var length = new FileInfo(path).Length;
            if (length > ManifestLimits.MaxFileBytes)
            {
                return FileProblem(source, TooLarge(length));
            }

            if (RegularFile.Open(path, out var notRegular) is not { } stream)
            {
                return FileProblem(source, notRegular!);
            }

            using (stream)
            {
                // Read at most one byte past the limit, whatever the size said: what a link points to can change.
                using var bytes = new MemoryStream();
                var chunk = new byte[81920];
                int read;
                while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
                {
                    bytes.Write(chunk, 0, read);
                    if (bytes.Length > ManifestLimits.MaxFileBytes)
                    {
                        return FileProblem(source, TooLarge(bytes.Length));
                    }
                }

                // As File.ReadAllText: UTF-8 unless a byte order mark says otherwise.
                bytes.Position = 0;
                using var reader = new StreamReader(bytes, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
                text = reader.ReadToEnd();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            return FileProblem(source, $"cannot read the file: {e.Message}");
        }

        return documents is null ? Read(text, source) : documents.Read(text, source);

        static string TooLarge(long length) => $"the file has {length / (1024 * 1024)} MiB; a manifest file may have at most {ManifestLimits.MaxFileBytes / (1024 * 1024)} MiB";
    }

    /// <summary>
    /// Reads every document of <paramref name="text"/>; <paramref name="source"/> names it in problems. Never throws
    /// for any text: a file that is not YAML or exceeds <see cref="ManifestLimits"/> gives one problem with its line,
    /// a document that cannot be read gives a problem for that document.
    /// </summary>
    public static ManifestReadResult Read(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(source);
        if (text.Length > ManifestLimits.MaxFileBytes)
        {
            return FileProblem(source, $"the text has {text.Length / (1024 * 1024)} Mi characters; a manifest file may have at most {ManifestLimits.MaxFileBytes / (1024 * 1024)} MiB");
        }

        IReadOnlyList<ManifestYamlParser.Document> documents;
        try
        {
            documents = ManifestYamlParser.Parse(text);
        }
        catch (YamlException e)
        {
            var location = new ManifestLocation(source, ManifestYamlParser.DocumentIndexOf(text, e), (int)e.Start.Line);
            return new ManifestReadResult([], [new ManifestProblem(null, "", $"not valid YAML: {e.Message}", location)], []);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // YamlDotNet's scanner throws more than YamlException for some broken input (an unclosed flow mapping
            // throws InvalidOperationException): the file is invalid all the same.
            return FileProblem(source, $"not valid YAML: {e.Message}");
        }

        return ReadDocuments(documents, source, firstDocument: 0, lineOffset: 0);
    }

    /// <summary>
    /// Reads parsed <paramref name="documents"/> of a file named <paramref name="source"/>: the first is its document
    /// <paramref name="firstDocument"/>, and their lines are <paramref name="lineOffset"/> lines further down in the file
    /// than the parser counted (a part of the file parsed alone: <see cref="ManifestDocumentCache"/>).
    /// </summary>
    internal static ManifestReadResult ReadDocuments(IReadOnlyList<ManifestYamlParser.Document> documents, string source, int firstDocument, int lineOffset)
    {
        var objects = new List<ManifestObject>();
        var problems = new List<ManifestProblem>();
        var ignored = new List<string>();
        for (var index = 0; index < documents.Count; index++)
        {
            var document = documents[index];
            var location = new ManifestLocation(source, firstDocument + index, document.StartLine + lineOffset);
            try
            {
                ReadDocument(document, null, location, lineOffset, objects, problems, ignored);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever went wrong makes this document invalid, never the file or the process.
                problems.Add(new ManifestProblem(null, "", $"cannot be read: {e.GetType().Name}: {e.Message}", location));
            }
        }

        return new ManifestReadResult(objects, problems, ignored);
    }

    /// <summary>
    /// Reads one object that arrives as JSON already (a Kubernetes list item or watch event), without printing it and
    /// parsing it again as YAML: the same checks, problems and limits as a document of <see cref="Read(string, string)"/>
    /// (<see cref="ManifestLimits.MaxDocumentChars"/> serialized, <see cref="ManifestLimits.MaxDepth"/> levels). The
    /// object is only read.
    /// </summary>
    public static ManifestReadResult Read(JsonObject json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(source);
        var location = new ManifestLocation(source, 0, 1);
        var objects = new List<ManifestObject>();
        var problems = new List<ManifestProblem>();
        var ignored = new List<string>();
        try
        {
            // One serialization measures the object, bounds its depth and is what the model is read from.
            var written = SerializedDocument.Write(json);
            if (written.TooDeep)
            {
                return new ManifestReadResult([], [new ManifestProblem(null, "", $"the object nests mappings and sequences deeper than {ManifestLimits.MaxDepth} levels", location)], []);
            }

            if (written.Bytes.Length > ManifestLimits.MaxDocumentChars)
            {
                // The writer escapes every character outside ASCII, so its bytes are the serialized text's characters.
                return new ManifestReadResult([], [new ManifestProblem(null, "", string.Create(CultureInfo.InvariantCulture, $"the object is {written.Bytes.Length / 1024} KiB; one object may have at most {ManifestLimits.MaxDocumentChars / 1024} KiB"), location)], []);
            }

            ReadDocument(new ManifestYamlParser.Document(json, NoLines, 1), written, location, 0, objects, problems, ignored);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            problems.Add(new ManifestProblem(null, "", $"cannot be read: {e.GetType().Name}: {e.Message}", location));
        }

        return new ManifestReadResult(objects, problems, ignored);
    }

    private static readonly IReadOnlyDictionary<string, int> NoLines = new Dictionary<string, int>();

    private static ManifestReadResult FileProblem(string source, string message) =>
        new([], [new ManifestProblem(null, "", message, new ManifestLocation(source, 0))], []);

    /// <summary>One document: an object of a kind the control plane reads, an ignored kind, or a problem; <paramref name="serialized"/> is the document written already, if it was; its lines are <paramref name="lineOffset"/> further down in the file than the parser counted.</summary>
    private static void ReadDocument(ManifestYamlParser.Document document, SerializedDocument? serialized, ManifestLocation location, int lineOffset, List<ManifestObject> objects, List<ManifestProblem> problems, List<string> ignored)
    {
        if (document.Json is null)
        {
            return;
        }

        if (document.Json is not JsonObject json)
        {
            problems.Add(new ManifestProblem(null, "", "a manifest document must be a mapping with apiVersion and kind", location));
            return;
        }

        var apiVersion = Text(json, "apiVersion");
        var kind = Text(json, "kind");
        if (apiVersion is null || kind is null)
        {
            problems.Add(new ManifestProblem(null, apiVersion is null ? "apiVersion" : "kind", "required", location));
            return;
        }

        var type = TypeOf(apiVersion, kind, out var typeProblem);
        if (typeProblem is not null)
        {
            problems.Add(new ManifestProblem(null, "apiVersion", typeProblem, location));
            return;
        }

        if (type is null)
        {
            ignored.Add($"{apiVersion}/{kind}");
            return;
        }

        try
        {
            var written = serialized ?? SerializedDocument.Write(json);
            if (written.TooDeep)
            {
                // A parsed document is bounded already; only an object built otherwise gets here.
                problems.Add(new ManifestProblem(KeyOf(kind, json), "", $"the object nests mappings and sequences deeper than {ManifestLimits.MaxDepth} levels", location));
                return;
            }

            if (written.HasNullListItem() && EmptyListItem(json) is { } empty)
            {
                problems.Add(new ManifestProblem(KeyOf(kind, json), FieldPath(empty), "list item is empty (null)", location with { Line = document.LineOf(empty) + lineOffset }));
                return;
            }

            var obj = (IManifestObject)JsonSerializer.Deserialize(written.Bytes.Span, type, Options)!;
            objects.Add(new ManifestObject(obj, location));
        }
        catch (JsonException e)
        {
            var path = e.Path ?? "$";
            problems.Add(new ManifestProblem(KeyOf(kind, json), FieldPath(path), JsonErrorReason.Of(e, json, type, Options), location with { Line = document.LineOf(path) + lineOffset }));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            problems.Add(new ManifestProblem(KeyOf(kind, json), "", $"cannot be read: {e.GetType().Name}: {e.Message}", location));
        }
    }

    private static Type? TypeOf(string apiVersion, string kind, out string? problem)
    {
        problem = null;
        switch (kind)
        {
            case RouteGroup.KindName or Sandbox.KindName or LocalWorkload.KindName or PreviewGrant.KindName when apiVersion.StartsWith("sandboxctl.io/", StringComparison.Ordinal):
                if (apiVersion != ApiVersions.Sandboxctl)
                {
                    problem = $"{kind} is served as {ApiVersions.Sandboxctl}, got '{apiVersion}'";
                    return null;
                }

                return kind switch
                {
                    RouteGroup.KindName => typeof(RouteGroup),
                    Sandbox.KindName => typeof(Sandbox),
                    PreviewGrant.KindName => typeof(PreviewGrant),
                    _ => typeof(LocalWorkload),
                };
            case KubeService.KindName when apiVersion == ApiVersions.CoreV1:
                return typeof(KubeService);
            case EndpointSlice.KindName when apiVersion == ApiVersions.DiscoveryV1:
                return typeof(EndpointSlice);
            default:
                if (apiVersion.StartsWith("sandboxctl.io/", StringComparison.Ordinal))
                {
                    problem = $"unknown kind '{kind}' in {apiVersion}; expected RouteGroup, Sandbox, LocalWorkload or PreviewGrant";
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

    /// <summary>The path of the first null list item (a bare <c>-</c> or <c>~</c>): the model's lists cannot hold one.</summary>
    private static string? EmptyListItem(JsonNode? node) => node switch
    {
        JsonObject obj => obj.Select(member => EmptyListItem(member.Value)).FirstOrDefault(path => path is not null),
        JsonArray array => array.Select((item, i) => item is null ? $"{array.GetPath()}[{i}]" : EmptyListItem(item)).FirstOrDefault(path => path is not null),
        _ => null,
    };

    private static string FieldPath(string jsonPath) => jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');
}
