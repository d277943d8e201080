namespace XdsControlPlane.Model.Tests;

public sealed class ManifestReaderTests
{
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

    [TestCase("kind: [unclosed\n", "bad.yaml:2 (document 0): not valid YAML: ")]
    [TestCase("a: 1\na: 2\n", "bad.yaml:2 (document 0): not valid YAML: Duplicate key a")]
    [TestCase("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n   port: 1\n", "bad.yaml:9 (document 1): not valid YAML: ")]
    [TestCase("? [a]\n: b\n", "bad.yaml:1 (document 0): not valid YAML: mapping keys must be plain strings")]
    [TestCase("- just\n- a list\n", "bad.yaml:1 (document 0): a manifest document must be a mapping with apiVersion and kind")]
    [TestCase("just a string\n", "bad.yaml:1 (document 0): a manifest document must be a mapping with apiVersion and kind")]
    [TestCase("apiVersion: v1\nmetadata: {name: x}\n", "bad.yaml:1 (document 0): kind: required")]
    [TestCase("kind: Service\nmetadata: {name: x}\n", "bad.yaml:1 (document 0): apiVersion: required")]
    [TestCase("apiVersion: sandboxctl.io/v1beta1\nkind: RouteGroup\nmetadata: {name: x}\n", "bad.yaml:1 (document 0): apiVersion: RouteGroup is served as sandboxctl.io/v1alpha1, got 'sandboxctl.io/v1beta1'")]
    [TestCase("apiVersion: sandboxctl.io/v1alpha1\nkind: RouteGroups\nmetadata: {name: x}\n", "bad.yaml:1 (document 0): apiVersion: unknown kind 'RouteGroups' in sandboxctl.io/v1alpha1; expected RouteGroup, Sandbox or LocalWorkload")]
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
