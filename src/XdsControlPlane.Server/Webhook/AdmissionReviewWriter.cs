using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using XdsControlPlane.Kubernetes.Admission;

namespace XdsControlPlane.Server.Webhook;

/// <summary>Writes the AdmissionReview admission.k8s.io/v1 response for a verdict. Pure.</summary>
internal static class AdmissionReviewWriter
{
    /// <summary>
    /// The response to request <paramref name="uid"/>: <c>allowed</c>, the patch (base64 JSON patch, <c>patchType: JSONPatch</c>)
    /// when there is one, <c>status</c> (code and message) when refused — the API server reads it only then — and the warnings.
    /// </summary>
    public static byte[] Write(string uid, AdmissionVerdict verdict)
    {
        var response = new JsonObject { ["uid"] = uid, ["allowed"] = verdict.Allowed };
        if (verdict.Allowed && verdict.Patch is { Count: > 0 } patch)
        {
            response["patchType"] = "JSONPatch";
            response["patch"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(patch.ToJsonString()));
        }

        if (!verdict.Allowed)
        {
            response["status"] = new JsonObject
            {
                ["code"] = verdict.Code ?? 403,
                ["message"] = verdict.Message ?? "refused by the xds-control-plane admission webhook",
            };
        }

        if (verdict.Warnings.Count > 0)
        {
            response["warnings"] = new JsonArray([.. verdict.Warnings.Select(w => (JsonNode?)w)]);
        }

        return JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["apiVersion"] = "admission.k8s.io/v1",
            ["kind"] = "AdmissionReview",
            ["response"] = response,
        });
    }
}
