using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace XdsControlPlane.Testing;

/// <summary>
/// MutatingWebhookConfigurations (admissionregistration.k8s.io/v1, cluster-scoped): get, and patch with a JSON patch
/// (RFC 6902: add, replace, remove, test — a failed test answers 422 as the API server does), as the webhook's leader
/// uses them to keep every webhook's <c>clientConfig.caBundle</c> equal to its CA.
/// </summary>
internal sealed partial class FakeApiServer
{
    public const string MutatingWebhookConfigurations = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations";

    private readonly Dictionary<string, JsonObject> _webhookConfigurations = new(StringComparer.Ordinal);

    /// <summary>Every JSON patch applied to a MutatingWebhookConfiguration so far.</summary>
    public List<(string Name, JsonArray Patch)> WebhookConfigurationPatches { get; } = [];

    /// <summary>Stores a MutatingWebhookConfiguration <paramref name="name"/> with one webhook per name in <paramref name="webhooks"/> (calling the Service <paramref name="service"/> at <c>/inject</c>), as a chart installs it.</summary>
    public void PutMutatingWebhookConfiguration(string name, string service, string ns, params string[] webhooks)
    {
        lock (_gate)
        {
            _webhookConfigurations[name] = new JsonObject
            {
                ["apiVersion"] = "admissionregistration.k8s.io/v1",
                ["kind"] = "MutatingWebhookConfiguration",
                ["metadata"] = new JsonObject { ["name"] = name, ["uid"] = Guid.NewGuid().ToString(), ["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture) },
                ["webhooks"] = new JsonArray([.. webhooks.Select(webhook => (JsonNode?)new JsonObject
                {
                    ["name"] = webhook,
                    ["admissionReviewVersions"] = new JsonArray("v1"),
                    ["sideEffects"] = "None",
                    ["failurePolicy"] = "Fail",
                    ["clientConfig"] = new JsonObject { ["service"] = new JsonObject { ["name"] = service, ["namespace"] = ns, ["path"] = "/inject", ["port"] = 443 } },
                    ["rules"] = new JsonArray(new JsonObject
                    {
                        ["operations"] = new JsonArray("CREATE", "UPDATE"),
                        ["apiGroups"] = new JsonArray("sandboxctl.io"),
                        ["apiVersions"] = new JsonArray("*"),
                        ["resources"] = new JsonArray("sandboxes"),
                    }),
                })]),
            };
        }
    }

    /// <summary>The stored MutatingWebhookConfiguration <paramref name="name"/>, or null.</summary>
    public JsonObject? GetMutatingWebhookConfiguration(string name)
    {
        lock (_gate)
        {
            return _webhookConfigurations.TryGetValue(name, out var configuration) ? configuration.DeepClone().AsObject() : null;
        }
    }

    partial void MapClusterScoped(WebApplication app)
    {
        app.MapGet(MutatingWebhookConfigurations + "/{name}", (string name, HttpContext context) =>
            WriteAsync(context, GetMutatingWebhookConfiguration(name) is { } found ? (200, found) : NotFound(MutatingWebhookConfigurations, name)));
        app.MapPatch(MutatingWebhookConfigurations + "/{name}", async (string name, HttpContext context) =>
        {
            if (!context.Request.ContentType!.StartsWith("application/json-patch+json", StringComparison.Ordinal))
            {
                await WriteAsync(context, (415, Status(415, "UnsupportedMediaType", $"the fake API server patches webhook configurations with JSON patches only, got {context.Request.ContentType}")));
                return;
            }

            var patch = (await JsonNode.ParseAsync(context.Request.Body))!.AsArray();
            (int, JsonObject) answer;
            lock (_gate)
            {
                if (!_webhookConfigurations.TryGetValue(name, out var current))
                {
                    answer = NotFound(MutatingWebhookConfigurations, name);
                }
                else if (JsonPatch.Apply(current.DeepClone(), patch) is not { } patched)
                {
                    answer = (422, Status(422, "Invalid", "the JSON patch does not apply (a test failed or a path is missing)"));
                }
                else
                {
                    patched["metadata"]!["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture);
                    _webhookConfigurations[name] = patched.AsObject();
                    WebhookConfigurationPatches.Add((name, patch));
                    answer = (200, patched.DeepClone().AsObject());
                }
            }

            await WriteAsync(context, answer);
        });
    }

    /// <summary>RFC 6902 add, replace, remove and test on objects and arrays (indices and <c>-</c>).</summary>
    private static class JsonPatch
    {
        public static JsonNode? Apply(JsonNode document, JsonArray patch)
        {
            foreach (var operation in patch.Select(o => o!.AsObject()))
            {
                var tokens = ((string)operation["path"]!).Split('/').Skip(1).Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
                var parent = tokens[..^1].Aggregate((JsonNode?)document, (node, token) => node switch
                {
                    JsonObject o => o[token],
                    JsonArray a when int.TryParse(token, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                    _ => null,
                });
                var last = tokens[^1];
                var value = operation["value"]?.DeepClone();
                switch ((string)operation["op"]!, parent)
                {
                    case ("test", JsonObject o) when JsonNode.DeepEquals(o[last], operation["value"]):
                        break;
                    case ("add" or "replace", JsonObject o) when (string)operation["op"]! == "add" || o.ContainsKey(last):
                        o[last] = value;
                        break;
                    case ("remove", JsonObject o) when o.Remove(last):
                        break;
                    case ("add", JsonArray a) when last == "-":
                        a.Add(value);
                        break;
                    case ("add", JsonArray a) when int.TryParse(last, CultureInfo.InvariantCulture, out var i) && i <= a.Count:
                        a.Insert(i, value);
                        break;
                    default:
                        return null;
                }
            }

            return document;
        }
    }
}
