using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

public sealed class CustomResourceDefinitionTests
{
    private static IEnumerable<Type> Kinds => CustomResourceDefinitions.Kinds;

    [TestCaseSource(nameof(Kinds))]
    public void CommittedCrd_MatchesTheModel(Type kind)
    {
        var file = Repo("charts", "xds-control-plane", "crds", CustomResourceDefinitions.FileName(kind));
        var generated = CustomResourceDefinitions.Yaml(kind);
        if (Prerequisite.RewriteRequested("UPDATE_CRDS"))
        {
            File.WriteAllText(file, generated);
            Assert.Ignore($"rewrote {file}");
        }

        Assert.That(File.Exists(file), Is.True, $"{file} is missing; run UPDATE_CRDS=1 dotnet test tests/XdsControlPlane.Kubernetes.Tests");
        Assert.That(File.ReadAllText(file), Is.EqualTo(generated), $"{file} drifted from the model; run UPDATE_CRDS=1 dotnet test tests/XdsControlPlane.Kubernetes.Tests and review the diff");
    }

    [Test]
    public void RouteGroupCrd_CarriesTheModelsRules()
    {
        var crd = CustomResourceDefinitions.Generate(typeof(RouteGroup));
        var version = crd["spec"]!["versions"]![0]!;
        var spec = version["schema"]!["openAPIV3Schema"]!["properties"]!["spec"]!;
        var route = spec["properties"]!["routes"]!["items"]!;
        var to = route["properties"]!["to"]!;

        Assert.Multiple(() =>
        {
            Assert.That((string?)crd["metadata"]!["name"], Is.EqualTo("routegroups.sandboxctl.io"));
            Assert.That(crd["spec"]!["names"]!["shortNames"]!.AsArray().Select(n => (string?)n), Is.EqualTo(new[] { "rg" }));
            Assert.That(version["subresources"]!["status"], Is.Not.Null);
            Assert.That(version["additionalPrinterColumns"]!.AsArray().Select(c => (string?)c!["name"]), Is.EqualTo(new[] { "Key", "Accepted", "Programmed", "Age" }));
            Assert.That((string?)spec["properties"]!["routingKey"]!["pattern"], Is.EqualTo(SchemaPatterns.RoutingKey));
            Assert.That(route["required"]!.AsArray().Select(r => (string?)r), Is.EquivalentTo(new[] { "service", "to" }));
            Assert.That(((long?)route["properties"]!["port"]!["minimum"], (long?)route["properties"]!["port"]!["maximum"]), Is.EqualTo(((long?)1, (long?)65535)));
            Assert.That(to["x-kubernetes-validations"]!.AsArray().Select(r => (string?)r!["message"]), Does.Contain("weights must sum to 100"));
            Assert.That((int?)to["maxItems"], Is.EqualTo(ModelLimits.MaxDestinations));
            Assert.That((string?)to["items"]!["x-kubernetes-validations"]![0]!["message"], Is.EqualTo("exactly one of service, localWorkload or sandbox"));
            Assert.That((string?)route["properties"]!["to"]!["description"], Does.Contain("weights summing to 100"));
        });
    }

    [Test]
    public void SandboxAndLocalWorkloadCrds_EnumsAndCrossFieldRules()
    {
        var sandbox = Schema(typeof(Sandbox));
        var workload = Schema(typeof(LocalWorkload));

        Assert.Multiple(() =>
        {
            Assert.That(sandbox["properties"]!["spec"]!["properties"]!["previews"]!["items"]!["properties"]!["access"]!["enum"]!.AsArray().Select(v => (string?)v), Is.EqualTo(new[] { "public", "shared", "personal" }));
            Assert.That(sandbox["properties"]!["status"]!["properties"]!["phase"]!["enum"]!.AsArray().Select(v => (string?)v), Is.EqualTo(new[] { "Pending", "Ready", "Failed" }));
            Assert.That((string?)workload["properties"]!["spec"]!["x-kubernetes-validations"]![0]!["rule"], Is.EqualTo("has(self.sandbox) != has(self.routingKey)"));
            Assert.That((string?)workload["properties"]!["status"]!["properties"]!["tunnel"]!["properties"]!["lastHeartbeat"]!["format"], Is.EqualTo("date-time"));
        });
    }

    [TestCase("services.yaml")]
    [TestCase("routing.yaml")]
    public void ExampleManifests_ConformToTheGeneratedSchemas(string file)
    {
        var problems = new List<string>();
        foreach (var (kind, json) in Documents(File.ReadAllText(Repo("examples", "shop", file))))
        {
            if (CustomResourceDefinitions.Kinds.SingleOrDefault(k => k.Name == kind) is { } type)
            {
                SchemaCheck.Check(Schema(type), json, "", problems);
            }
        }

        Assert.That(problems, Is.Empty);
    }

    [TestCase("weight: 80", "weight: 101", ".spec.routes[1].to[0].weight: 101 is above the maximum 100")]
    [TestCase("port: 9090\n    to:\n    - {service: checkout-v2, weight: 80}", "port: 0\n    to:\n    - {service: checkout-v2, weight: 80}", ".spec.routes[1].port: 0 is below the minimum 1")]
    [TestCase("routingKey: feature-x", "routingKey: Feature_X", ".spec.routingKey: 'Feature_X' does not match")]
    [TestCase("{name: x-user, exact: alice}", "{name: x-user, exact: alice, colour: red}", ".spec.routes[0].match.headers[0].colour: unknown field")]
    public void InvalidRouteGroup_RejectedByTheGeneratedSchema(string from, string to, string expected)
    {
        var text = File.ReadAllText(Repo("examples", "shop", "routing.yaml"));
        Assert.That(text, Does.Contain(from), "the example changed; update this test");
        var problems = new List<string>();
        foreach (var (kind, json) in Documents(text.Replace(from, to, StringComparison.Ordinal)).Where(d => d.Kind == "RouteGroup"))
        {
            SchemaCheck.Check(Schema(typeof(RouteGroup)), json, "", problems);
        }

        Assert.That(problems, Has.Some.StartsWith(expected));
    }

    /// <summary>The chart's RBAC rules for the control loop as <c>Kind:group/resource:verb</c> (LeaderElectionTests checks them against real calls; Chart/ChartRbacTests the webhook's too).</summary>
    internal static string[] ChartPermissions() => Chart.ChartRbac.ControlLoopPermissions(Chart.HelmChart.Load());

    private static JsonNode Schema(Type kind) => CustomResourceDefinitions.Generate(kind)["spec"]!["versions"]![0]!["schema"]!["openAPIV3Schema"]!;

    private static IEnumerable<(string Kind, JsonNode Json)> Documents(string yaml) =>
        yaml.Split("\n---", StringSplitOptions.RemoveEmptyEntries)
            .Select(d => YamlJson.Convert(d))
            .OfType<JsonNode>()
            .Select(j => ((string)j["kind"]!, j));

    private static string Repo(params string[] parts)
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "XdsControlPlane.sln")))
            {
                return Path.Combine([dir.FullName, .. parts]);
            }
        }

        throw new InvalidOperationException("XdsControlPlane.sln not found");
    }

    /// <summary>The structural part of OpenAPI checking the API server does (types, required, enums, patterns, ranges, list bounds, unknown fields); CEL rules are not evaluated.</summary>
    private static class SchemaCheck
    {
        public static void Check(JsonNode schema, JsonNode? value, string path, List<string> problems)
        {
            switch ((string?)schema["type"])
            {
                case "object" when value is JsonObject obj:
                    var properties = schema["properties"]?.AsObject();
                    foreach (var required in schema["required"]?.AsArray().Select(r => (string)r!) ?? [])
                    {
                        if (!obj.ContainsKey(required))
                        {
                            problems.Add($"{path}.{required}: required");
                        }
                    }

                    foreach (var (name, child) in obj)
                    {
                        if (properties is null)
                        {
                            if (schema["additionalProperties"] is { } additional)
                            {
                                Check(additional, child, $"{path}.{name}", problems);
                            }
                        }
                        else if (properties[name] is { } property)
                        {
                            Check(property, child, $"{path}.{name}", problems);
                        }
                        else if (path.Length > 0 || name is not ("apiVersion" or "kind" or "metadata"))
                        {
                            problems.Add($"{path}.{name}: unknown field");
                        }
                    }

                    break;
                case "array" when value is JsonArray array:
                    if (schema["minItems"] is { } min && array.Count < (int)min || schema["maxItems"] is { } max && array.Count > (int)max)
                    {
                        problems.Add($"{path}: {array.Count} items is outside [{schema["minItems"]}, {schema["maxItems"]}]");
                    }

                    for (var i = 0; i < array.Count; i++)
                    {
                        Check(schema["items"]!, array[i], $"{path}[{i}]", problems);
                    }

                    break;
                case "string" when value is JsonValue text && text.TryGetValue<string>(out var s):
                    if (schema["pattern"] is { } pattern && !Regex.IsMatch(s, (string)pattern!))
                    {
                        problems.Add($"{path}: '{s}' does not match {pattern}");
                    }

                    if (schema["enum"] is JsonArray values && !values.Any(v => (string?)v == s))
                    {
                        problems.Add($"{path}: '{s}' is not one of {values.ToJsonString()}");
                    }

                    break;
                case "integer" when value is JsonValue number && number.TryGetValue<long>(out var n):
                    if (schema["minimum"] is { } minimum && n < (long)minimum)
                    {
                        problems.Add($"{path}: {n} is below the minimum {minimum}");
                    }

                    if (schema["maximum"] is { } maximum && n > (long)maximum)
                    {
                        problems.Add($"{path}: {n} is above the maximum {maximum}");
                    }

                    break;
                case "boolean" when value is JsonValue flag && flag.TryGetValue<bool>(out _):
                    break;
                case var type:
                    problems.Add($"{path}: expected {type}, got {value?.ToJsonString() ?? "null"}");
                    break;
            }
        }
    }
}
