using System.Text.Json.Nodes;
using XdsControlPlane.Model;

namespace Sandboxctl.Previews;

/// <summary>
/// A stored <see cref="PreviewGrant"/> as <c>preview list</c> shows it: never its hash (and the token is never stored).
/// Read field by field, so a grant with fields this version does not know, or a broken one, still lists.
/// </summary>
/// <param name="Name">The grant's name (what <c>preview revoke</c> takes).</param>
/// <param name="Namespace">Its namespace.</param>
/// <param name="Owner">The Sandbox or LocalWorkload it opens, or null when it names neither.</param>
/// <param name="Preview">The one preview it is narrowed to, or null for all of the owner's.</param>
/// <param name="ExpiresAt">Its <c>spec.expiresAt</c> as written.</param>
/// <param name="CreatedBy">Who created it, as the admission webhook recorded it (<see cref="CreatedByAnnotation"/>), or null.</param>
/// <param name="Description">Its description, or null.</param>
internal sealed record GrantView(string Name, string Namespace, PreviewOwner? Owner, PreviewTarget? Preview, string ExpiresAt, string? CreatedBy, string? Description)
{
    /// <summary>The annotation the admission webhook stamps with the creating user's name (from the API server's <c>userInfo</c>).</summary>
    public const string CreatedByAnnotation = CreatorAnnotations.CreatedBy;

    /// <summary>When it expires, or null when <see cref="ExpiresAt"/> is not a timestamp (such a grant opens nothing).</summary>
    public DateTimeOffset? Expiry => PreviewGrant.ParseTimestamp(ExpiresAt);

    /// <summary>Whether it still opens anything at <paramref name="now"/>.</summary>
    public bool IsLive(DateTimeOffset now) => Expiry is { } expiry && expiry > now;

    /// <summary>The grant in <paramref name="obj"/> (an API object or a manifest document), or null when it has no name.</summary>
    public static GrantView? FromObject(JsonObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var metadata = obj["metadata"] as JsonObject;
        var spec = obj["spec"] as JsonObject;
        if (Text(metadata?["name"]) is not { Length: > 0 } name)
        {
            return null;
        }

        var ns = Text(metadata?["namespace"]) ?? ObjectMeta.DefaultNamespace;
        PreviewOwner? owner = Text(spec?["sandbox"]) is { Length: > 0 } sandbox ? new(Sandbox.KindName, ns, sandbox)
            : Text(spec?["localWorkload"]) is { Length: > 0 } workload ? new(LocalWorkload.KindName, ns, workload)
            : null;
        PreviewTarget? target = spec?["preview"] is JsonObject preview && Text(preview["service"]) is { } service
            && preview["port"] is JsonValue port && port.TryGetValue<int>(out var number)
            ? new PreviewTarget { Service = service, Port = number }
            : null;
        return new GrantView(name, ns, owner, target, Text(spec?["expiresAt"]) ?? "", Text(metadata?["annotations"]?[CreatedByAnnotation]), Text(spec?["description"]));
    }

    private static string? Text(JsonNode? node) => JsonFields.Text(node);
}

/// <summary>Reads fields of objects that come from outside (the API server, files) without throwing on a wrong type.</summary>
internal static class JsonFields
{
    /// <summary>The string <paramref name="node"/> holds, or null when it is absent or not a string.</summary>
    public static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
