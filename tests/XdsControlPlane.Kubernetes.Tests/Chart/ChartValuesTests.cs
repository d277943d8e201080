using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace XdsControlPlane.Kubernetes.Tests.Chart;

/// <summary><c>values.yaml</c>, <c>values.schema.json</c>, the templates and the README's table agree on every value.</summary>
public sealed class ChartValuesTests
{
    private static readonly HelmChart Chart = HelmChart.Load();

    [Test]
    public void EveryValue_IsInTheSchema_AndEverySchemaProperty_IsAValue()
    {
        var values = Chart.ValuePaths();
        var schema = SchemaPaths(Chart.Schema, "").ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(values.Except(schema), Is.Empty, "values.yaml keys values.schema.json does not describe");
            Assert.That(schema.Except(values), Is.Empty, "values.schema.json properties values.yaml does not set");
        });
    }

    [Test]
    public void Schema_ClosesEveryObject()
    {
        // Objects with properties refuse others (a misspelt key fails the install); the few maps a user fills
        // (nodeSelector, annotations, labels) have no properties and take string values only.
        var open = new List<string>();
        Walk(Chart.Schema, "", (path, node) =>
        {
            if ((string?)node["type"] != "object")
            {
                return;
            }

            var closed = node["properties"] is not null
                ? node["additionalProperties"] is JsonValue v && v.GetValueKind() == JsonValueKind.False
                : (string?)node["additionalProperties"]?["type"] == "string";
            if (!closed)
            {
                open.Add(path);
            }
        });
        Assert.Multiple(() =>
        {
            Assert.That(open, Is.Empty, "objects that accept unknown keys");
            Assert.That((string?)Chart.Schema["$schema"], Is.EqualTo("http://json-schema.org/draft-07/schema#"));
        });
    }

    [Test]
    public void ValuesYaml_IsValidUnderTheSchema()
    {
        var result = Evaluate(Chart.Values);
        Assert.That(result.IsValid, Is.True, () => string.Join("\n", Errors(result)));
    }

    [TestCase("webhook", "certManger", "true", "certManger")]
    [TestCase("", "replica", "3", "replica")]
    [TestCase("gateway.service", "type", "\"Ingress\"", "gateway/service/type")]
    [TestCase("webhook", "failurePolicy", "\"fail\"", "webhook/failurePolicy")]
    [TestCase("", "replicas", "0", "replicas")]
    [TestCase("ports", "xds", "\"18000\"", "ports/xds")]
    [TestCase("ports", "admin", "70000", "ports/admin")]
    [TestCase("webhook", "timeoutSeconds", "31", "webhook/timeoutSeconds")]
    [TestCase("", "tunnelListenPorts", "\"0\"", "tunnelListenPorts")]
    [TestCase("", "watchNamespaces", "[\"Shop\"]", "watchNamespaces/0")]
    [TestCase("", "terminationGracePeriodSeconds", "5", "terminationGracePeriodSeconds")]
    [TestCase("gateway.service", "nodePort", "80", "gateway/service/nodePort")]
    [TestCase("resources.limits", "memory", "\"lots\"", "resources/limits/memory")]
    [TestCase("previews", "domain", "\"Preview.Example.com\"", "previews/domain")]
    [TestCase("previews", "domain", "\"preview\"", "previews/domain")]
    [TestCase("previews", "rateLimit", "\"50\"", "previews/rateLimit")]
    [TestCase("listenerTls.xds", "clientCertificates", "\"Required\"", "listenerTls/xds/clientCertificates")]
    [TestCase("listenerTls.xds", "roleIdentities", "[\"admin=*/*\"]", "listenerTls/xds/roleIdentities/0")]
    [TestCase("listenerTls.xds", "clientCertificates", "\"required\"", "")]
    [TestCase("listenerTls.xds", "tokenReview", "\"required\"", "")]
    [TestCase("listenerTls.xds", "tokenReview", "\"on\"", "listenerTls/xds/tokenReview")]
    [TestCase("listenerTls.xds", "tokenAudience", "\"two words\"", "listenerTls/xds/tokenAudience")]
    [TestCase("listenerTls.tunnel", "secretName", "\"Tunnel TLS\"", "listenerTls/tunnel/secretName")]
    public void Schema_RefusesAMistake(string parent, string key, string json, string where)
    {
        var values = Chart.Values.DeepClone().AsObject();
        var target = parent.Length == 0 ? values : parent.Split('.').Aggregate((JsonNode)values, (node, part) => node[part]!).AsObject();
        target[key] = JsonNode.Parse(json);

        var result = Evaluate(values);
        Assert.Multiple(() =>
        {
            Assert.That(result.IsValid, Is.False, $"{parent}.{key}: {json} was accepted");
            Assert.That(Errors(result), Has.Some.Contains(where));
        });
    }

    [Test]
    public void RequiredXdsClientCertificates_AcceptedWithTheChartsGatewayOff()
    {
        var values = Chart.Values.DeepClone().AsObject();
        values["listenerTls"]!["xds"]!["secretName"] = "xds-tls";
        values["listenerTls"]!["xds"]!["clientCertificates"] = "required";
        values["gateway"]!["enabled"] = false;

        var result = Evaluate(values);
        Assert.That(result.IsValid, Is.True, () => string.Join("\n", Errors(result)));
    }

    [TestCase(true, true, true)]
    [TestCase(false, true, false)]
    [TestCase(false, false, true)]
    [TestCase(false, false, false)]
    public void RequiredTokenReview_RefusedOnlyWhenTheGatewayOrInjectedProxiesWouldHaveNoTlsToSendATokenOver(bool xdsSecret, bool gateway, bool webhook)
    {
        var values = Chart.Values.DeepClone().AsObject();
        values["listenerTls"]!["xds"]!["secretName"] = xdsSecret ? "xds-tls" : "";
        values["listenerTls"]!["xds"]!["tokenReview"] = "required";
        values["gateway"]!["enabled"] = gateway;
        values["webhook"]!["enabled"] = webhook;

        var result = Evaluate(values);
        var sendsNoToken = !xdsSecret && (gateway || webhook);
        Assert.That(result.IsValid, Is.EqualTo(!sendsNoToken), () => string.Join("\n", Errors(result)));
    }

    [Test]
    public void EveryValue_IsUsedByATemplate()
    {
        var references = Chart.ValueReferences();
        var unused = Chart.ValuePaths().Where(path => !references.Any(r => r == path || path.StartsWith(r + ".", StringComparison.Ordinal))).ToArray();
        var unknown = references.Where(r => !Chart.ValuePaths().Any(path => path == r || path.StartsWith(r + ".", StringComparison.Ordinal))).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(unused, Is.Empty, "values no template reads");
            Assert.That(unknown, Is.Empty, "templates read values values.yaml does not define");
        });
    }

    [Test]
    public void ReadmeTable_ListsEveryValueWithItsDefault_AndNoOther()
    {
        var table = Chart.ReadmeTable();
        var rows = table.Select(r => r.Path).ToArray();
        var values = Chart.ValuePaths();
        Assert.Multiple(() =>
        {
            Assert.That(values.Except(rows), Is.Empty, "values missing from the README's table");
            Assert.That(rows.Except(values), Is.Empty, "README rows naming no value");
            Assert.That(rows, Is.Unique);
            Assert.That(table.Where(r => values.Contains(r.Path) && r.Default != Chart.DefaultText(r.Path)).Select(r => $"{r.Path}: README {r.Default}, values.yaml {Chart.DefaultText(r.Path)}"), Is.Empty, "defaults out of step");
        });
    }

    private static EvaluationResults Evaluate(JsonObject values)
    {
        var schema = JsonSchema.FromText(Chart.Schema.ToJsonString());
        using var document = JsonDocument.Parse(values.ToJsonString());
        return schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    private static IEnumerable<string> Errors(EvaluationResults result) =>
        (result.Details ?? []).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}"));

    /// <summary>The value paths the schema describes, as <see cref="HelmChart.ValuePaths"/> spells them.</summary>
    private static IEnumerable<string> SchemaPaths(JsonNode schema, string prefix)
    {
        foreach (var (key, property) in schema["properties"]!.AsObject())
        {
            var path = prefix.Length == 0 ? key : $"{prefix}.{key}";
            if ((string?)property!["type"] == "object" && property["properties"] is not null)
            {
                foreach (var leaf in SchemaPaths(property, path))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return path;
            }
        }
    }

    private static void Walk(JsonNode node, string path, Action<string, JsonNode> visit)
    {
        visit(path, node);
        foreach (var (key, child) in node["properties"]?.AsObject() ?? [])
        {
            Walk(child!, $"{path}/{key}", visit);
        }

        if (node["items"] is JsonObject items)
        {
            Walk(items, $"{path}[]", visit);
        }
    }
}
