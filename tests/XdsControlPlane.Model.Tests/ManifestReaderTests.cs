namespace XdsControlPlane.Model.Tests;

public sealed class ManifestReaderTests
{
    private const string Service = """
        apiVersion: v1
        kind: Service
        metadata: {name: cart, namespace: shop}
        spec:
          ports: [{name: http, port: 8080}]

        """;

    [Test]
    public void Read_NestedDeeperThanTheLimit_ProblemNamesTheLineAndTheLimit()
    {
        var deep = new string('[', ManifestLimits.MaxDepth + 1) + new string(']', ManifestLimits.MaxDepth + 1);
        var result = ManifestReader.Read(Service + $"  ignored: {deep}\n", "deep.yaml");

        Assert.That(result.Problems.Single().ToString(), Is.EqualTo("deep.yaml:6 (document 0): not valid YAML: mappings and sequences are nested deeper than 64 levels"));
    }

    [Test]
    public void Read_AtTheDepthLimit_Read()
    {
        var deep = new string('[', ManifestLimits.MaxDepth - 4) + new string(']', ManifestLimits.MaxDepth - 4);
        var result = ManifestReader.Read(Service + $"  ignored: {deep}\n", "deep.yaml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Problems, Is.Empty);
            Assert.That(result.Objects, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public void Read_TwentyThousandLevels_ProblemNotAStackOverflow()
    {
        var result = ManifestReader.Read("a: " + new string('[', 20_000) + new string(']', 20_000) + "\n", "deep.yaml");

        Assert.That(result.Problems.Single().Reason, Does.Contain("nested deeper than 64 levels"));
    }

    /// <summary>"Billion laughs": 9 levels of 9 aliases, 462 bytes that expand to 387 million nodes.</summary>
    [Test]
    public void Read_AliasBomb_ProblemWithoutExpandingIt()
    {
        var text = new System.Text.StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (var level = 'b'; level <= 'i'; level++)
        {
            var previous = (char)(level - 1);
            text.Append(level).Append(": &").Append(level).Append(" [").Append(string.Join(",", Enumerable.Repeat("*" + previous, 9))).Append("]\n");
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = ManifestReader.Read(text.ToString(), "bomb.yaml");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Out.WriteLine($"{text.Length} bytes; {allocated / 1024} KiB allocated while reading");
        Assert.Multiple(() =>
        {
            Assert.That(result.Problems.Single().Reason, Does.Contain("aliases would expand this file by more than 100000 nodes"));
            Assert.That(allocated, Is.LessThan(64L * 1024 * 1024), "nothing was expanded");
        });
    }

    [TestCase("a: &a [*a]\n")]
    [TestCase("a: &a {b: *a}\n")]
    [TestCase("a: &a [x, {b: [*a]}]\n")]
    public void Read_AliasInsideItsOwnAnchor_ProblemNotAStackOverflow(string text) =>
        Assert.That(ManifestReader.Read(text, "self.yaml").Problems.Single().Reason, Does.Contain("alias *a refers to a node that contains it"));

    /// <summary>The alias budget is per file: repeating a document just under it must not multiply it.</summary>
    [Test]
    public void Read_ManyDocumentsEachJustUnderTheAliasBudget_OneProblem()
    {
        var document = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: aliases}\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
        var text = string.Join("---\n", Enumerable.Repeat(document, 100));

        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = ManifestReader.Read(text, "many.yaml");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Multiple(() =>
        {
            Assert.That(ManifestReader.Read(document, "one.yaml").Problems, Is.Empty, "one such document is fine");
            Assert.That(result.Problems.Single().Reason, Does.Contain("aliases would expand this file by more than 100000 nodes"));
            Assert.That(allocated, Is.LessThan(64L * 1024 * 1024));
        });
    }

    [Test]
    public void Read_AliasesNestingPastTheDepthLimit_Problem()
    {
        // Each line is 41 levels deep as written (within the limit); b holds a inside 20 more levels, so b expands to 61,
        // and c holds b inside 10 more: 71.
        var result = ManifestReader.Read($"a: &a {new string('[', 40)}x{new string(']', 40)}\nb: &b {new string('[', 20)}*a{new string(']', 20)}\nc: {new string('[', 10)}*b{new string(']', 10)}\n", "deep-alias.yaml");

        Assert.That(result.Problems.Single().Reason, Does.Contain("nested deeper than 64 levels"));
    }

    [Test]
    public void Read_ModestAliases_ExpandedAsKubernetesDoes()
    {
        var result = ManifestReader.Read("""
            apiVersion: v1
            kind: Service
            metadata: {name: cart, namespace: shop, labels: &labels {app: cart, tier: web}, annotations: *labels}
            spec:
              ports: [{name: http, port: 8080}]
            """, "aliases.yaml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Problems, Is.Empty);
            Assert.That(((KubeService)result.Objects.Single().Resource).Metadata.Annotations, Is.EquivalentTo(new Dictionary<string, string> { ["app"] = "cart", ["tier"] = "web" }));
        });
    }

    [Test]
    public void Read_DocumentOverTheObjectLimit_Problem()
    {
        var big = Service + "  ignored: \"" + new string('x', ManifestLimits.MaxDocumentChars) + "\"\n";

        var result = ManifestReader.Read(big, "big.yaml");

        Assert.That(result.Problems.Single().Reason, Does.Contain($"one object may have at most {ManifestLimits.MaxDocumentChars / 1024} KiB"));
    }

    [Test]
    public void ReadFile_OverTheFileLimit_ProblemWithoutReadingIt()
    {
        var path = Path.GetTempFileName();
        try
        {
            using (var file = File.OpenWrite(path))
            {
                file.SetLength(ManifestLimits.MaxFileBytes + 1);
            }

            var result = ManifestReader.ReadFile(path, "huge.yaml");

            Assert.That(result.Problems.Single().ToString(), Is.EqualTo("huge.yaml (document 0): the file has 16 MiB; a manifest file may have at most 16 MiB"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase("4294967296", "spec.routes[0].to[0].weight: 4294967296 is out of range (an integer from -2147483648 to 2147483647)")]
    [TestCase("1e30", "spec.routes[0].to[0].weight: 1E+30 is out of range (an integer from -2147483648 to 2147483647)")]
    [TestCase("'80'", "spec.routes[0].to[0].weight: expected an integer")]
    [TestCase("1.5", "spec.routes[0].to[0].weight: expected an integer")]
    public void Read_WeightNotAnInt32_SaysWhy(string weight, string expected)
    {
        var result = ManifestReader.Read($$"""
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata: {name: big, namespace: shop}
            spec:
              routes:
              - service: cart
                to: [{service: cart-v2, weight: {{weight}}}, {service: cart, weight: 20}]
            """, "weights.yaml");

        Assert.That(result.Problems.Single().ToString(), Does.EndWith(expected));
    }

    [Test]
    public void Read_MultiDocumentFile_TypedObjectsAndIgnoredKinds()
    {
        var result = ManifestReader.Read("""
            apiVersion: v1
            kind: Service
            metadata: {name: cart}
            spec:
              ports: [{name: http, port: 8080}]
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: cart-abc, labels: {kubernetes.io/service-name: cart}}
            endpoints: [{addresses: [10.0.0.7]}]
            ports: [{name: http, port: 8080}]
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: cart}
            ---
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata: {name: feature-x, namespace: shop}
            spec:
              routes:
              - service: cart
                match:
                  headers: [{name: x-build, exact: "123"}]
                to: [{service: cart-v2}]
            ---
            apiVersion: sandboxctl.io/v1alpha1
            kind: Sandbox
            metadata: {name: feature-x}
            spec: {ttl: 2h, forks: [{of: {name: cart}, image: cart:pr-7}]}
            ---
            apiVersion: sandboxctl.io/v1alpha1
            kind: LocalWorkload
            metadata: {name: alice-laptop}
            spec: {sandbox: feature-x, service: cart, ports: [{port: 8080}]}
            ---
            # an empty document is skipped
            """, "shop.yaml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Problems, Is.Empty);
            Assert.That(result.IgnoredKinds, Is.EqualTo(new[] { "apps/v1/Deployment" }));
            Assert.That(result.Objects.Select(o => o.Resource.Key.ToString()), Is.EqualTo(new[]
            {
                "Service default/cart", "EndpointSlice default/cart-abc", "RouteGroup shop/feature-x", "Sandbox default/feature-x", "LocalWorkload default/alice-laptop",
            }));
            Assert.That(((KubeService)result.Objects[0].Resource).Spec.Ports.Single().Port, Is.EqualTo(8080));
            var slice = (EndpointSlice)result.Objects[1].Resource;
            Assert.That(slice.ServiceName, Is.EqualTo("cart"));
            Assert.That(slice.Endpoints.Single().Addresses, Is.EqualTo(new[] { "10.0.0.7" }));
            var group = (RouteGroup)result.Objects[2].Resource;
            Assert.That(group.Spec.Routes[0].Match!.Headers[0].Exact, Is.EqualTo("123"));
            Assert.That(group.EffectiveRoutingKey, Is.EqualTo("feature-x"));
            var sandbox = (Sandbox)result.Objects[3].Resource;
            Assert.That(sandbox.Spec.Ttl, Is.EqualTo("2h"));
            Assert.That(sandbox.Spec.Forks.Single().Of, Is.EqualTo(new WorkloadReference { Kind = "Deployment", Name = "cart" }));
            var workload = (LocalWorkload)result.Objects[4].Resource;
            Assert.That(workload.Spec.Sandbox, Is.EqualTo("feature-x"));
            Assert.That(workload.Spec.Ports.Single(), Is.EqualTo(new LocalPort { Port = 8080, Protocol = "http" }));
            Assert.That(result.Objects[2].Location, Is.EqualTo(new ManifestLocation("shop.yaml", 3, 17)));
        });
    }

    [TestCase("weight: 20", "weigth: 20", "spec.routes[0].to[1].weigth", "unknown field 'weigth'", 14)]
    [TestCase("port: 8080", "port: abc", "spec.routes[0].port", "expected an integer", 9)]
    [TestCase("timeout: 5s", "timeout: 5", "spec.routes[0].timeout", "expected a string (quote numbers and booleans)", 15)]
    [TestCase("attempts: 2", "attempts: two", "spec.routes[0].retries.attempts", "expected an integer", 17)]
    public void Read_BadFieldInBlockStyle_ProblemOnTheLineOfThatField(string field, string replacement, string path, string reason, int line)
    {
        var text = """
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata:
              name: feature-x
              namespace: shop
            spec:
              routes:
              - service: cart
                port: 8080
                to:
                - service: cart-v2
                  weight: 80
                - service: cart
                  weight: 20
                timeout: 5s
                retries:
                  attempts: 2
            """.Replace(field, replacement, StringComparison.Ordinal);

        var result = ManifestReader.Read(text, "routing.yaml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Objects, Is.Empty);
            Assert.That(result.Problems.Select(p => p.ToString()), Is.EqualTo(new[] { $"routing.yaml:{line} (document 0): RouteGroup shop/feature-x: {path}: {reason}" }));
        });
    }

    [TestCase("weigth: 80", "spec.routes[0].to[0].weigth", "unknown field 'weigth'", 7)]
    [TestCase("weight: lots", "spec.routes[0].to[0].weight", "expected an integer", 7)]
    [TestCase("weight: true", "spec.routes[0].to[0].weight", "expected an integer", 7)]
    public void Read_BadField_ProblemNamesPathReasonAndLine(string field, string path, string reason, int line)
    {
        var result = ManifestReader.Read($$"""
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata: {name: feature-x, namespace: shop}
            spec:
              routes:
              - service: cart
                to: [{service: cart-v2, {{field}}}]
            """, "routing.yaml");

        var problem = result.Problems.Single();
        Assert.Multiple(() =>
        {
            Assert.That(result.Objects, Is.Empty);
            Assert.That(problem.Resource, Is.EqualTo(new ResourceKey("RouteGroup", "shop", "feature-x")));
            Assert.That(problem.FieldPath, Is.EqualTo(path));
            Assert.That(problem.Reason, Is.EqualTo(reason));
            Assert.That(problem.Location?.Line, Is.EqualTo(line));
            Assert.That(problem.ToString(), Is.EqualTo($"routing.yaml:{line} (document 0): RouteGroup shop/feature-x: {path}: {reason}"));
        });
    }

    [Test]
    public void Read_PlainNumberWhereStringExpected_RejectedWithHintToQuote()
    {
        var plain = ManifestReader.Read("""
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata: {name: g}
            spec:
              routes: [{service: cart, to: [{service: x}], match: {headers: [{name: x-build, exact: 123}]}}]
            """, "f.yaml");

        Assert.That(plain.Problems.Single().ToString(), Is.EqualTo("f.yaml:5 (document 0): RouteGroup default/g: spec.routes[0].match.headers[0].exact: expected a string (quote numbers and booleans)"));
    }

    /// <summary>Hostile files: each is one problem naming the file and line, never an exception, and in bounded time and memory.</summary>
    [TestCase("a: {b: c\nd: e\n", "bad.yaml (document 0): not valid YAML: ")]
    [TestCase("\t- x\n\t\t:\n", "bad.yaml:1 (document 0): not valid YAML: ")]
    [TestCase("%YAML 9.9\n---\na: 1\n", "bad.yaml:1 (document 0): not valid YAML: ")]
    [TestCase("a: *missing\n", "bad.yaml:1 (document 0): not valid YAML: ")]
    [TestCase("? [a, b]\n: c\n", "bad.yaml:1 (document 0): not valid YAML: mapping keys must be plain strings")]
    [TestCase("kind: [unclosed\n", "bad.yaml:2 (document 0): not valid YAML: ")]
    [TestCase("a: 1\na: 2\n", "bad.yaml:2 (document 0): not valid YAML: Duplicate key a")]
    [TestCase("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n   port: 1\n", "bad.yaml:9 (document 1): not valid YAML: ")]
    [TestCase("? [a]\n: b\n", "bad.yaml:1 (document 0): not valid YAML: mapping keys must be plain strings")]
    [TestCase("- just\n- a list\n", "bad.yaml:1 (document 0): a manifest document must be a mapping with apiVersion and kind")]
    [TestCase("just a string\n", "bad.yaml:1 (document 0): a manifest document must be a mapping with apiVersion and kind")]
    [TestCase("apiVersion: v1\nmetadata: {name: x}\n", "bad.yaml:1 (document 0): kind: required")]
    [TestCase("kind: Service\nmetadata: {name: x}\n", "bad.yaml:1 (document 0): apiVersion: required")]
    [TestCase("apiVersion: sandboxctl.io/v1beta1\nkind: RouteGroup\nmetadata: {name: x}\n", "bad.yaml:1 (document 0): apiVersion: RouteGroup is served as sandboxctl.io/v1alpha1, got 'sandboxctl.io/v1beta1'")]
    [TestCase("apiVersion: sandboxctl.io/v1alpha1\nkind: RouteGroups\nmetadata: {name: x}\n", "bad.yaml:1 (document 0): apiVersion: unknown kind 'RouteGroups' in sandboxctl.io/v1alpha1; expected RouteGroup, Sandbox, LocalWorkload or PreviewGrant")]
    public void Read_BrokenDocument_OneProblemNoObjects(string text, string problem)
    {
        var result = ManifestReader.Read(text, "bad.yaml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Objects, Is.Empty);
            Assert.That(result.Problems.Single().ToString(), Does.StartWith(problem));
        });
    }

    [TestCase("")]
    [TestCase("# only a comment\n")]
    [TestCase("---\n---\n")]
    public void Read_NoDocuments_NothingAndNoProblem(string text)
    {
        var result = ManifestReader.Read(text, "empty.yaml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Objects, Is.Empty);
            Assert.That(result.Problems, Is.Empty);
            Assert.That(result.IgnoredKinds, Is.Empty);
        });
    }

    [TestCase("RouteGroup", "spec:\n  routes:\n  - service: cart\n    to: [{service: cart-v2}]\n  -\n", "spec.routes[1]", 8)]
    [TestCase("RouteGroup", "spec:\n  routes:\n  - service: cart\n    to:\n    - ~\n", "spec.routes[0].to[0]", 8)]
    [TestCase("RouteGroup", "spec:\n  routes:\n  - service: cart\n    match: {headers: [null]}\n    to: [{service: cart-v2}]\n", "spec.routes[0].match.headers[0]", 7)]
    [TestCase("Sandbox", "spec:\n  forks:\n  - of: {name: cart}\n    env: [~]\n", "spec.forks[0].env[0]", 7)]
    [TestCase("LocalWorkload", "spec:\n  routingKey: alice\n  service: cart\n  ports:\n  -\n", "spec.ports[0]", 8)]
    public void Read_EmptyListItem_ProblemInsteadOfAnObjectWithANullInside(string kind, string spec, string path, int line)
    {
        var result = ManifestReader.Read($"apiVersion: sandboxctl.io/v1alpha1\nkind: {kind}\nmetadata: {{name: x, namespace: shop}}\n{spec}", "bad.yaml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Objects, Is.Empty);
            Assert.That(result.Problems.Select(p => p.ToString()), Is.EqualTo(new[] { $"bad.yaml:{line} (document 0): {kind} shop/x: {path}: list item is empty (null)" }));
        });
    }

    [Test]
    public void Read_EmptyListItemInAService_Problem()
    {
        var result = ManifestReader.Read("apiVersion: v1\nkind: Service\nmetadata: {name: cart}\nspec:\n  ports:\n  - {port: 8080}\n  -\n", "svc.yaml");

        Assert.That(result.Problems.Single().ToString(), Is.EqualTo("svc.yaml:7 (document 0): Service default/cart: spec.ports[1]: list item is empty (null)"));
    }

    [Test]
    public void Read_BadValueUnderAKeyWithDots_ProblemOnTheLineOfThatKey()
    {
        var result = ManifestReader.Read("""
            apiVersion: v1
            kind: Service
            metadata:
              name: cart
              labels:
                app.kubernetes.io/name: cart
                app.kubernetes.io/version: 1.2
            """, "svc.yaml");

        Assert.That(
            result.Problems.Single().ToString(),
            Is.EqualTo("svc.yaml:7 (document 0): Service default/cart: metadata.labels['app.kubernetes.io/version']: expected a string (quote numbers and booleans)"));
    }

    [Test]
    public void Read_NullValues_TreatedAsAbsent()
    {
        var result = ManifestReader.Read("""
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata: {name: g, namespace: ~}
            spec:
              routingKey: null
              routes: [{service: cart, to: [{service: x}], match: }]
            """, "f.yaml");

        var group = (RouteGroup)result.Objects.Single().Resource;
        Assert.Multiple(() =>
        {
            Assert.That(group.Metadata.Namespace, Is.EqualTo("default"));
            Assert.That(group.Spec.RoutingKey, Is.Null);
            Assert.That(group.Spec.Routes[0].Match, Is.Null);
        });
    }
}
