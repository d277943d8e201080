using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.JsonPatch.SystemTextJson;
using XdsControlPlane.Kubernetes.Admission;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests.Admission;

/// <summary>
/// The AdmissionReview requests of Fixtures/pods, the <see cref="AdmissionSubject"/> the webhook hands a reviewer for
/// one, and a reviewer's JSON patch applied by a real RFC 6902 implementation (Microsoft.AspNetCore.JsonPatch).
/// </summary>
internal static class PodAdmission
{
    /// <summary>The AdmissionReview in Fixtures/pods/<paramref name="file"/>.</summary>
    public static JsonObject Review(string file) =>
        JsonNode.Parse(File.ReadAllText(RepoDirectory.Path("tests", "XdsControlPlane.Kubernetes.Tests", "Admission", "Fixtures", "pods", file)))!.AsObject();

    /// <summary>The pod (<c>request.object</c>) of <paramref name="review"/>.</summary>
    public static JsonObject Pod(JsonObject review) => review["request"]!["object"]!.AsObject();

    /// <summary>What the webhook hands a reviewer for <paramref name="review"/>'s request, its object replaced by <paramref name="pod"/> when given.</summary>
    public static AdmissionSubject Subject(JsonObject review, JsonNode? pod = null, string? operation = null)
    {
        var request = review["request"]!.AsObject();
        var user = request["userInfo"]!.AsObject();
        return new AdmissionSubject(
            request["uid"]!.GetValue<string>(),
            operation ?? request["operation"]!.GetValue<string>(),
            request["resource"]!["group"]!.GetValue<string>(),
            request["resource"]!["version"]!.GetValue<string>(),
            request["resource"]!["resource"]!.GetValue<string>(),
            request["subResource"]?.GetValue<string>(),
            request["namespace"]?.GetValue<string>() ?? "",
            request["name"]?.GetValue<string>() ?? "",
            JsonSerializer.SerializeToElement(pod ?? request["object"]),
            request["oldObject"] is { } old ? JsonSerializer.SerializeToElement(old) : null,
            new AdmissionUser(user["username"]!.GetValue<string>(), user["uid"]?.GetValue<string>(), [.. user["groups"]!.AsArray().Select(g => g!.GetValue<string>())]),
            request["dryRun"]?.GetValue<bool>() ?? false);
    }

    /// <summary><paramref name="pod"/> with <paramref name="patch"/> applied (a copy); a patch that does not apply fails the test.</summary>
    public static JsonObject Apply(JsonObject pod, JsonArray patch)
    {
        var document = JsonSerializer.Deserialize<JsonPatchDocument>(patch.ToJsonString()) ?? throw new InvalidOperationException("empty patch");
        var target = pod.DeepClone().AsObject();
        var errors = new List<string>();
        document.ApplyTo(target, error => errors.Add($"{error.Operation?.op} {error.Operation?.path}: {error.ErrorMessage}"));
        Assert.That(errors, Is.Empty, "the patch applies cleanly");
        return target;
    }
}
