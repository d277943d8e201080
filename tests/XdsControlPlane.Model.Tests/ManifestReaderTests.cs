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
            # an empty document is skipped
            """, "shop.yaml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Problems, Is.Empty);
            Assert.That(result.IgnoredKinds, Is.EqualTo(new[] { "apps/v1/Deployment" }));
            Assert.That(result.Objects.Select(o => o.Resource.Key.ToString()), Is.EqualTo(new[] { "Service default/cart", "RouteGroup shop/feature-x" }));
            var service = (KubeService)result.Objects[0].Resource;
            Assert.That(service.Spec.Ports.Single().Port, Is.EqualTo(8080));
            var group = (RouteGroup)result.Objects[1].Resource;
            Assert.That(group.Spec.Routes[0].Match!.Headers[0].Exact, Is.EqualTo("123"));
            Assert.That(group.EffectiveRoutingKey, Is.EqualTo("feature-x"));
            Assert.That(result.Objects[1].Location, Is.EqualTo(new ManifestLocation("shop.yaml", 2, 11)));
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
    public void Read_QuotedNumberWhereStringExpected_Accepted_PlainNumberRejectedWithHint()
    {
        var plain = ManifestReader.Read("""
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata: {name: g}
            spec:
              routes: [{service: cart, to: [{service: x}], match: {headers: [{name: x-build, exact: 123}]}}]
            """, "f.yaml");

        Assert.That(plain.Problems.Single().Reason, Is.EqualTo("expected a string (quote numbers and booleans)"));
    }

    [TestCase("kind: [unclosed\n", "not valid YAML")]
    [TestCase("- just\n- a list\n", "a manifest document must be a mapping with apiVersion and kind")]
    [TestCase("apiVersion: v1\nmetadata: {name: x}\n", "required")]
    [TestCase("apiVersion: sandboxctl.io/v1beta1\nkind: RouteGroup\nmetadata: {name: x}\n", "RouteGroup is served as sandboxctl.io/v1alpha1, got 'sandboxctl.io/v1beta1'")]
    [TestCase("apiVersion: sandboxctl.io/v1alpha1\nkind: RouteGroups\nmetadata: {name: x}\n", "unknown kind 'RouteGroups' in sandboxctl.io/v1alpha1; expected RouteGroup, Sandbox or LocalWorkload")]
    [TestCase("a: 1\na: 2\n", "not valid YAML: Duplicate key a")]
    public void Read_BrokenDocument_OneProblemNoObjects(string text, string reason)
    {
        var result = ManifestReader.Read(text, "bad.yaml");

        Assert.Multiple(() =>
        {
            Assert.That(result.Objects, Is.Empty);
            Assert.That(result.Problems.Single().Reason, Does.Contain(reason));
            Assert.That(result.Problems.Single().Location?.Source, Is.EqualTo("bad.yaml"));
        });
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
