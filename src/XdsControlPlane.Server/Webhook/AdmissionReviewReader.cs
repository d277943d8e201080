using System.Text.Json;
using XdsControlPlane.Kubernetes.Admission;

namespace XdsControlPlane.Server.Webhook;

/// <summary>
/// Reads an AdmissionReview admission.k8s.io/v1 request body into an <see cref="AdmissionSubject"/>, checking the
/// envelope as the API server sends it; a problem names the field (<c>request.uid: missing</c>). Pure. The subject's
/// objects point into the returned <see cref="JsonDocument"/>, which the caller disposes after the review.
/// </summary>
internal static class AdmissionReviewReader
{
    /// <summary>The operations an AdmissionRequest carries.</summary>
    private static readonly string[] Operations = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

    /// <summary>The subject of <paramref name="body"/> and its document, or the problem with the envelope.</summary>
    public static (JsonDocument? Document, AdmissionSubject? Subject, string? Problem) Read(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = WebhookListenerOptions.MaxJsonDepth });
        }
        catch (JsonException e)
        {
            return (null, null, $"body: not JSON an AdmissionReview can be read from (at most {WebhookListenerOptions.MaxJsonDepth} levels deep): {e.Message}");
        }

        try
        {
            return Subject(document.RootElement) switch
            {
                (null, var problem) => Fail(document, problem!),
                (var subject, _) => (document, subject, null),
            };
        }
        catch (InvalidOperationException e)
        {
            return Fail(document, $"body: {e.Message}");
        }
    }

    private static (JsonDocument?, AdmissionSubject?, string?) Fail(JsonDocument document, string problem)
    {
        document.Dispose();
        return (null, null, problem);
    }

    private static (AdmissionSubject? Subject, string? Problem) Subject(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, "body: must be a JSON object (an AdmissionReview)");
        }

        if (Text(root, "apiVersion") != "admission.k8s.io/v1")
        {
            return (null, $"apiVersion: must be admission.k8s.io/v1 (list only v1 in the webhook's admissionReviewVersions), got {Shown(root, "apiVersion")}");
        }

        if (Text(root, "kind") != "AdmissionReview")
        {
            return (null, $"kind: must be AdmissionReview, got {Shown(root, "kind")}");
        }

        if (!root.TryGetProperty("request", out var request) || request.ValueKind != JsonValueKind.Object)
        {
            return (null, "request: missing (an AdmissionReview sent to a webhook has a request object)");
        }

        if (Text(request, "uid") is not { Length: > 0 and <= 256 } uid)
        {
            return (null, $"request.uid: must be a non-empty string of at most 256 characters, got {Shown(request, "uid")}");
        }

        if (!request.TryGetProperty("resource", out var resource) || resource.ValueKind != JsonValueKind.Object)
        {
            return (null, "request.resource: missing (group, version, resource)");
        }

        if (Text(resource, "resource") is not { Length: > 0 } plural)
        {
            return (null, $"request.resource.resource: must be a non-empty string, got {Shown(resource, "resource")}");
        }

        if (Text(request, "operation") is not { } operation || !Operations.Contains(operation, StringComparer.Ordinal))
        {
            return (null, $"request.operation: must be CREATE, UPDATE, DELETE or CONNECT, got {Shown(request, "operation")}");
        }

        var user = request.TryGetProperty("userInfo", out var info) ? info : default;
        if (user.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined))
        {
            return (null, "request.userInfo: must be an object");
        }

        if (user.ValueKind == JsonValueKind.Object && user.TryGetProperty("groups", out var groups) && groups.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null))
        {
            return (null, "request.userInfo.groups: must be a list of strings");
        }

        var incoming = Object(request, "object");
        if (operation is "CREATE" or "UPDATE" && incoming is null)
        {
            return (null, $"request.object: must be an object on {operation}");
        }

        var stored = Object(request, "oldObject");
        if (operation == "UPDATE" && stored is null)
        {
            return (null, "request.oldObject: must be an object on UPDATE");
        }

        return (new AdmissionSubject(
            uid,
            operation,
            Text(resource, "group") ?? "",
            Text(resource, "version") ?? "",
            plural,
            Text(request, "subResource") is { Length: > 0 } sub ? sub : null,
            Text(request, "namespace") ?? "",
            Text(request, "name") ?? "",
            incoming ?? default,
            stored,
            new AdmissionUser(
                user.ValueKind == JsonValueKind.Object ? Text(user, "username") ?? "" : "",
                user.ValueKind == JsonValueKind.Object && Text(user, "uid") is { Length: > 0 } userUid ? userUid : null,
                user.ValueKind == JsonValueKind.Object && user.TryGetProperty("groups", out var list) && list.ValueKind == JsonValueKind.Array
                    ? [.. list.EnumerateArray().Where(g => g.ValueKind == JsonValueKind.String).Select(g => g.GetString()!)]
                    : []),
            request.TryGetProperty("dryRun", out var dryRun) && dryRun.ValueKind == JsonValueKind.True), null);
    }

    private static string? Text(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static JsonElement? Object(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    /// <summary>A field's value as a problem shows it: quoted and cut to 64 characters, or its JSON kind, or "nothing".</summary>
    private static string Shown(JsonElement parent, string name)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            return "nothing";
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            return $"a JSON {value.ValueKind.ToString().ToLowerInvariant()}";
        }

        var text = value.GetString()!;
        return text.Length > 64 ? $"'{text[..64]}…'" : $"'{text}'";
    }
}
