using System.Text.Json;
using System.Text.Json.Nodes;
using XdsControlPlane.Kubernetes.Admission;
using XdsControlPlane.Model;

namespace XdsControlPlane.Server.Webhook;

/// <summary>
/// Records who created an object of one resource (a Sandbox or a LocalWorkload: its owner; a PreviewGrant: who minted it), in the words of
/// the API server that authenticated them (<c>userInfo</c>), never the client's: on CREATE the annotations
/// <see cref="CreatedBy"/> (the user name), <see cref="CreatedByUid"/> (the user's uid, when the authenticator gives one)
/// and, where asked, <see cref="CreatedByGroups"/> (those of the user's groups that matter, see <see cref="PreviewGrants"/>)
/// are set, whatever the client put there; on UPDATE the stored values are put back when the client changed or removed
/// them, and values the stored object does not have are removed (an object created before the webhook ran has no
/// creator, and no client can give it one). Subresources (status) and DELETE pass unchanged. Pure.
/// </summary>
internal sealed class CreatorReviewer : IAdmissionReviewer
{
    /// <summary>The annotation holding the creating user's name.</summary>
    public const string CreatedBy = CreatorAnnotations.CreatedBy;

    /// <summary>The annotation holding the creating user's uid.</summary>
    public const string CreatedByUid = CreatorAnnotations.CreatedByUid;

    /// <summary>The annotation holding the creating user's groups that were asked for, comma-separated, in the order of <c>userInfo</c>.</summary>
    public const string CreatedByGroups = CreatorAnnotations.CreatedByGroups;

    /// <summary>The most groups recorded (and the longest group name): what is recorded stays small whatever the authenticator says.</summary>
    public const int MaxRecordedGroups = 16;

    private const int MaxGroupLength = 253;

    private readonly string _kind;
    private readonly IReadOnlySet<string>? _recordedGroups;

    private CreatorReviewer(string resource, string kind, IReadOnlySet<string>? recordedGroups)
    {
        Resource = resource;
        _kind = kind;
        _recordedGroups = recordedGroups;
    }

    /// <summary>The owner of a Sandbox: who created it.</summary>
    public static CreatorReviewer Sandboxes() => new("sandboxes", "Sandbox", null);

    /// <summary>
    /// The owner of a LocalWorkload: who created it — <c>sandboxctl local connect</c> creates it with the developer's own
    /// credentials in Kubernetes mode, so the laptop's personal previews open to that developer. A <c>--force</c>
    /// takeover by someone else is an UPDATE: the first creator stays the owner.
    /// </summary>
    public static CreatorReviewer LocalWorkloads() => new("localworkloads", "LocalWorkload", null);

    /// <summary>
    /// Who minted a PreviewGrant, and which of <paramref name="adminGroups"/> (<c>--preview-admin-group</c>) they were in
    /// then (<see cref="CreatedByGroups"/>, absent when none): the authorization service opens a personal preview to a
    /// grant of its owner's or of an admin's.
    /// </summary>
    public static CreatorReviewer PreviewGrants(IEnumerable<string> adminGroups) =>
        new("previewgrants", "PreviewGrant", adminGroups.Take(MaxRecordedGroups).ToHashSet(StringComparer.Ordinal));

    /// <inheritdoc />
    public string Resource { get; }

    /// <inheritdoc />
    public string Group => "sandboxctl.io";

    /// <inheritdoc />
    public AdmissionVerdict Review(AdmissionSubject request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.SubResource is not null || request.Operation is not ("CREATE" or "UPDATE"))
        {
            return AdmissionVerdict.Unchanged($"{request.Operation} {request.SubResource} records no owner".Replace("  ", " ", StringComparison.Ordinal));
        }

        var (metadata, problem) = Metadata(request.Incoming);
        if (problem is not null)
        {
            return AdmissionVerdict.Refused(400, problem);
        }

        Dictionary<string, string?> wanted;
        if (request.Operation == "CREATE")
        {
            if (request.User.Username.Length == 0)
            {
                return AdmissionVerdict.Refused(403, $"userInfo.username: empty; the creator of a {_kind} is who creates it, and the API server named no one");
            }

            wanted = new(StringComparer.Ordinal) { [CreatedBy] = request.User.Username, [CreatedByUid] = request.User.Uid };
            if (_recordedGroups is not null)
            {
                wanted[CreatedByGroups] = Groups(request.User.Groups);
            }
        }
        else
        {
            var (stored, _) = Metadata(request.Stored!.Value);
            wanted = new(StringComparer.Ordinal) { [CreatedBy] = Annotation(stored, CreatedBy), [CreatedByUid] = Annotation(stored, CreatedByUid) };
            if (_recordedGroups is not null)
            {
                wanted[CreatedByGroups] = Annotation(stored, CreatedByGroups);
            }
        }

        var patch = Patch(metadata, wanted);
        return patch.Count == 0
            ? AdmissionVerdict.Unchanged("creator annotations as recorded")
            : AdmissionVerdict.Patched(patch, request.Operation == "CREATE" ? $"creator {request.User.Username} recorded" : "creator annotations restored");
    }

    /// <summary>The user's groups that are recorded (null when none): bounded in number and length, each once.</summary>
    private string? Groups(IReadOnlyList<string> groups)
    {
        var recorded = groups
            .Where(g => g is { Length: > 0 and <= MaxGroupLength } && !g.Contains(',', StringComparison.Ordinal) && _recordedGroups!.Contains(g))
            .Distinct(StringComparer.Ordinal)
            .Take(MaxRecordedGroups)
            .ToArray();
        return recorded.Length == 0 ? null : string.Join(',', recorded);
    }

    /// <summary>The JSON patch that makes the object's creator annotations <paramref name="wanted"/> (null: absent).</summary>
    private static JsonArray Patch(JsonElement? metadata, Dictionary<string, string?> wanted)
    {
        var patch = new JsonArray();
        var annotations = metadata is { } m && m.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object ? a : (JsonElement?)null;
        var present = wanted.Where(w => w.Value is not null).ToDictionary(w => w.Key, w => (JsonNode?)w.Value, StringComparer.Ordinal);
        if (annotations is null)
        {
            if (present.Count > 0)
            {
                patch.Add(metadata is null
                    ? Operation("add", "/metadata", new JsonObject { ["annotations"] = new JsonObject(present) })
                    : Operation("add", "/metadata/annotations", new JsonObject(present)));
            }

            return patch;
        }

        foreach (var (key, value) in wanted)
        {
            var current = annotations.Value.TryGetProperty(key, out var v) ? v : (JsonElement?)null;
            var path = "/metadata/annotations/" + key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
            if (value is null && current is not null)
            {
                patch.Add(Operation("remove", path, null));
            }
            else if (value is not null && (current is not { ValueKind: JsonValueKind.String } text || text.GetString() != value))
            {
                // "add" replaces an existing member (RFC 6902 4.1).
                patch.Add(Operation("add", path, value));
            }
        }

        return patch;
    }

    private static JsonObject Operation(string op, string path, JsonNode? value)
    {
        var operation = new JsonObject { ["op"] = op, ["path"] = path };
        if (op != "remove")
        {
            operation["value"] = value;
        }

        return operation;
    }

    /// <summary>The object's metadata (null when absent), or the problem with it naming the field.</summary>
    private (JsonElement? Metadata, string? Problem) Metadata(JsonElement obj)
    {
        if (obj.ValueKind != JsonValueKind.Object)
        {
            return (null, $"object: must be a JSON object (a {_kind})");
        }

        if (!obj.TryGetProperty("metadata", out var metadata) || metadata.ValueKind == JsonValueKind.Null)
        {
            return (null, null);
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            return (null, "object.metadata: must be an object");
        }

        return metadata.TryGetProperty("annotations", out var annotations) && annotations.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null)
            ? (null, "object.metadata.annotations: must be an object of strings")
            : (metadata, null);
    }

    private static string? Annotation(JsonElement? metadata, string key) =>
        metadata is { } m && m.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object && a.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;
}
