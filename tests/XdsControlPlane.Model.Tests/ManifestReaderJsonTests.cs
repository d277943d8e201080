using System.Text.Json.Nodes;

namespace XdsControlPlane.Model.Tests;

/// <summary>An object that arrives as JSON (from the API server) reads exactly as the same text read as a manifest, problems included.</summary>
public sealed class ManifestReaderJsonTests
{
    private static IEnumerable<TestCaseData> Objects()
    {
        yield return Case("a RouteGroup", """{"apiVersion":"sandboxctl.io/v1alpha1","kind":"RouteGroup","metadata":{"name":"canary","namespace":"shop","resourceVersion":"7"},"spec":{"routingKey":"k","routes":[{"service":"checkout","port":9090,"match":{"headers":[{"name":"x-user","exact":"alice"}]},"to":[{"service":"checkout-v2","weight":80},{"service":"checkout","weight":20}],"timeout":"5s"}]},"status":{"conditions":[]}}""");
        yield return Case("a Service", """{"apiVersion":"v1","kind":"Service","metadata":{"name":"cart","namespace":"shop","labels":{"app":"cart"}},"spec":{"ports":[{"name":"http","port":8080,"protocol":"TCP"},{"name":"grpc","port":9090,"appProtocol":"grpc"}]}}""");
        yield return Case("an EndpointSlice", """{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"cart-1","namespace":"shop","labels":{"kubernetes.io/service-name":"cart"}},"addressType":"IPv4","ports":[{"name":"http","port":8080}],"endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":true},"zone":"a"}]}""");
        yield return Case("a LocalWorkload with status", """{"apiVersion":"sandboxctl.io/v1alpha1","kind":"LocalWorkload","metadata":{"name":"alice","namespace":"shop"},"spec":{"routingKey":"dev","service":"cart","ports":[{"port":8080}]},"status":{"phase":"Connected"}}""");
        yield return Case("a wrong type", """{"apiVersion":"sandboxctl.io/v1alpha1","kind":"RouteGroup","metadata":{"name":"bad","namespace":"shop"},"spec":{"routes":[{"service":"cart","port":"eighty","to":[{"service":"cart"}]}]}}""");
        yield return Case("an empty list item", """{"apiVersion":"sandboxctl.io/v1alpha1","kind":"RouteGroup","metadata":{"name":"bad","namespace":"shop"},"spec":{"routes":[null]}}""");
        yield return Case("no kind", """{"apiVersion":"v1","metadata":{"name":"x"}}""");
        yield return Case("an ignored kind", """{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}""");
    }

    [TestCaseSource(nameof(Objects))]
    public void Read_Json_SameAsTheTextReadAsAManifest(string text)
    {
        var fromText = ManifestReader.Read(text, "kubernetes test");
        var fromJson = ManifestReader.Read(JsonNode.Parse(text)!.AsObject(), "kubernetes test");

        Assert.Multiple(() =>
        {
            Assert.That(fromJson.Objects.Select(o => RoutingFields.Of(o.Resource).ToJsonString()), Is.EqualTo(fromText.Objects.Select(o => RoutingFields.Of(o.Resource).ToJsonString())));
            Assert.That(fromJson.Objects.Select(o => o.Resource.Metadata.ResourceVersion), Is.EqualTo(fromText.Objects.Select(o => o.Resource.Metadata.ResourceVersion)));
            Assert.That(fromJson.Problems.Select(p => p.ToString()), Is.EqualTo(fromText.Problems.Select(p => p.ToString())));
            Assert.That(fromJson.IgnoredKinds, Is.EqualTo(fromText.IgnoredKinds));
        });
    }

    [Test]
    public void Read_Json_BeyondTheLimits_IsOneProblemNotAnException()
    {
        var deep = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Service", ["metadata"] = new JsonObject { ["name"] = "deep" } };
        var node = deep;
        for (var i = 0; i < ManifestLimits.MaxDepth + 5; i++)
        {
            var child = new JsonObject();
            node["x"] = child;
            node = child;
        }

        var large = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Service", ["metadata"] = new JsonObject { ["name"] = "large", ["annotations"] = new JsonObject { ["a"] = new string('x', ManifestLimits.MaxDocumentChars) } } };

        Assert.Multiple(() =>
        {
            Assert.That(ManifestReader.Read(deep, "kubernetes deep").Problems.Single().Reason, Does.Contain($"deeper than {ManifestLimits.MaxDepth} levels"));
            Assert.That(ManifestReader.Read(large, "kubernetes large").Problems.Single().Reason, Does.Contain("one object may have at most 1536 KiB"));
        });
    }

    [Test]
    public void Read_Json_AtTheSizeLimit_IsReadAndOneCharacterMoreIsRefused()
    {
        // The limit counts the characters of the object as compact JSON, escapes included: each 'é' is written \u00E9.
        var atLimit = WithAnnotation("é" + new string('x', 100));
        var padding = ManifestLimits.MaxDocumentChars - atLimit.ToJsonString().Length;
        atLimit = WithAnnotation("é" + new string('x', 100 + padding));
        var overLimit = WithAnnotation("é" + new string('x', 101 + padding));

        var read = ManifestReader.Read(atLimit, "kubernetes at-limit");
        var refused = ManifestReader.Read(overLimit, "kubernetes over-limit");

        Assert.Multiple(() =>
        {
            Assert.That(atLimit.ToJsonString(), Has.Length.EqualTo(ManifestLimits.MaxDocumentChars));
            Assert.That(read.Problems, Is.Empty);
            Assert.That(read.Objects.Single().Resource.Metadata.Annotations["a"], Does.StartWith("éxx"));
            Assert.That(refused.Objects, Is.Empty);
            Assert.That(refused.Problems.Single().ToString(), Does.Contain("kubernetes over-limit").And.Contain("the object is 1536 KiB; one object may have at most 1536 KiB"));
        });

        static JsonObject WithAnnotation(string value) => new() { ["apiVersion"] = "v1", ["kind"] = "Service", ["metadata"] = new JsonObject { ["name"] = "sized", ["namespace"] = "shop", ["annotations"] = new JsonObject { ["a"] = value } } };
    }

    [Test]
    public void Read_Json_AtTheDepthLimit_IsReadAndOneLevelMoreIsRefused()
    {
        var atLimit = ManifestReader.Read(Nested(ManifestLimits.MaxDepth), "kubernetes at-limit");
        var overLimit = ManifestReader.Read(Nested(ManifestLimits.MaxDepth + 1), "kubernetes over-limit");

        Assert.Multiple(() =>
        {
            Assert.That(atLimit.Problems, Is.Empty);
            Assert.That(atLimit.Objects.Single().Resource.Metadata.Name, Is.EqualTo("nested"));
            Assert.That(overLimit.Objects, Is.Empty);
            Assert.That(overLimit.Problems.Single().ToString(), Does.Contain("kubernetes over-limit").And.Contain($"the object nests mappings and sequences deeper than {ManifestLimits.MaxDepth} levels"));
        });

        // A Service (whose unknown fields are ignored) that nests mappings `levels` deep, itself the first level.
        static JsonObject Nested(int levels)
        {
            var root = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Service", ["metadata"] = new JsonObject { ["name"] = "nested", ["namespace"] = "shop" } };
            var node = root;
            for (var level = 2; level <= levels; level++)
            {
                var child = new JsonObject();
                node["x"] = child;
                node = child;
            }

            return root;
        }
    }

    [Test]
    public void Read_Json_ManyAtOnceOnEveryCore_EachReadsAsAlone()
    {
        // Objects of a list are read side by side on every core; reading reuses a buffer per thread, never the object.
        var text = """{"apiVersion":"sandboxctl.io/v1alpha1","kind":"RouteGroup","metadata":{"name":"canary","namespace":"shop"},"spec":{"routingKey":"k","routes":[{"service":"checkout","port":9090,"to":[{"service":"checkout-v2","weight":80},{"service":"checkout","weight":20}]}]}}""";
        var json = JsonNode.Parse(text)!.AsObject();
        var results = new ManifestReadResult[64];
        Parallel.For(0, results.Length, i => results[i] = ManifestReader.Read(i % 2 == 0 ? json.DeepClone().AsObject() : JsonNode.Parse(text)!.AsObject(), "kubernetes RouteGroup shop/canary"));

        Assert.Multiple(() =>
        {
            Assert.That(results.Select(r => RoutingFields.Of(r.Objects.Single().Resource).ToJsonString()).Distinct().Count(), Is.EqualTo(1));
            Assert.That(json.ToJsonString(), Is.EqualTo(text));
        });
    }

    private static TestCaseData Case(string name, string json) => new TestCaseData(json).SetName($"Read_Json_SameAsTheTextReadAsAManifest({name})");
}
