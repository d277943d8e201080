namespace XdsControlPlane.Model.Tests;

/// <summary>
/// A RouteGroup may route another namespace's Service — intercept its keyed requests, or send requests to it — only
/// when that Service allows the RouteGroup's namespace (annotation <c>sandboxctl.io/allow-routes-from</c>), so one
/// tenant cannot take over another's keyed traffic. A refusal is never papered over by a last good version.
/// </summary>
public sealed class CrossNamespaceTests
{
    private static string Cart(string? allow) => $$"""
        apiVersion: v1
        kind: Service
        metadata:
          name: cart
          namespace: shop
          {{(allow is null ? "" : $"annotations: {{sandboxctl.io/allow-routes-from: \"{allow}\"}}")}}
        spec: {ports: [{name: http, port: 8080}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cart-v2, namespace: shop}
        spec: {ports: [{name: http, port: 8080}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: evil, namespace: aaa}
        spec: {ports: [{name: http, port: 8080}]}
        """;

    /// <summary>The takeover from the report: namespace aaa routes shop's cart, with shop's own routing key, to its own Service.</summary>
    private const string Takeover = """
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: takeover, namespace: aaa}
        spec:
          routingKey: feature-x
          routes:
          - service: cart.shop
            to: [{service: evil}]
        """;

    [TestCase(null)]
    [TestCase("")]
    [TestCase("bbb, ccc")]
    [TestCase("aaaa")]
    public void Validate_OtherNamespacesServiceWithoutGrant_Refused(string? allow)
    {
        var problems = Problems(Cart(allow), Takeover);

        Assert.Multiple(() =>
        {
            Assert.That(problems.Select(p => p.ToString()), Is.EqualTo(new[] { "RouteGroup aaa/takeover: spec.routes[0].service: Service shop/cart does not allow routes from namespace aaa (its annotation sandboxctl.io/allow-routes-from must list aaa)" }));
            Assert.That(problems.Single().Kind, Is.EqualTo(ProblemKind.NotPermitted));
        });
    }

    [TestCase("aaa")]
    [TestCase("bbb, aaa")]
    [TestCase("*")]
    public void Validate_OtherNamespacesServiceThatAllowsIt_Accepted(string allow) =>
        Assert.That(Problems(Cart(allow), Takeover), Is.Empty);

    [Test]
    public void Validate_DestinationInAnotherNamespaceWithoutGrant_Refused()
    {
        var problems = Problems(Cart(null), """
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata: {name: send, namespace: aaa}
            spec:
              routes:
              - service: evil
                to: [{service: cart-v2.shop}]
            """);

        Assert.That(problems.Select(p => p.ToString()), Is.EqualTo(new[] { "RouteGroup aaa/send: spec.routes[0].to[0].service: Service shop/cart-v2 does not allow routes from namespace aaa (its annotation sandboxctl.io/allow-routes-from must list aaa)" }));
    }

    [Test]
    public void Validate_LocalWorkloadForAnotherNamespacesService_Invalid()
    {
        var problems = Problems(Cart("*"), """
            apiVersion: sandboxctl.io/v1alpha1
            kind: LocalWorkload
            metadata: {name: laptop, namespace: aaa}
            spec: {routingKey: alice, service: cart.shop, ports: [{port: 8080}]}
            """);

        Assert.That(problems.Select(p => p.ToString()), Is.EqualTo(new[] { "LocalWorkload aaa/laptop: spec.service: must name a Service in the LocalWorkload's namespace aaa (no '.namespace'), got 'cart.shop'" }));
    }

    [Test]
    public void Validate_SameNamespace_NeedsNoGrant() =>
        Assert.That(Problems(Cart(null), """
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata: {name: own, namespace: shop}
            spec:
              routes:
              - service: cart
                to: [{service: cart-v2.shop}]
            """), Is.Empty);

    /// <summary>Revoking the grant takes the RouteGroup out at once; its "last good version" must not keep routing.</summary>
    [Test]
    public void Apply_GrantRevoked_RouteGroupLeavesAtOnce()
    {
        var set = new LastGoodManifestSet();
        var granted = set.Apply([File("inventory.yaml", Cart("aaa")), File("takeover.yaml", Takeover)]);

        var revoked = set.Apply([File("inventory.yaml", Cart(null)), File("takeover.yaml", Takeover)]);

        Assert.Multiple(() =>
        {
            Assert.That(granted.Inputs.RouteGroups.Select(g => g.Metadata.Name), Is.EqualTo(new[] { "takeover" }));
            Assert.That(revoked.Inputs.RouteGroups, Is.Empty);
            Assert.That(revoked.KeptLastGood, Is.Empty);
            Assert.That(revoked.Problems.Single().Kind, Is.EqualTo(ProblemKind.NotPermitted));
        });
    }

    /// <summary>Breaking the RouteGroup's text cannot keep its last good version in force past a withdrawn grant.</summary>
    [TestCase("kind: [unclosed\n")]
    [TestCase("""
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: takeover, namespace: aaa}
        spec:
          routingKey: feature-x
          routes:
          - service: evil
            timeout: bogus
            to: [{service: evil}]
        """)]
    public void Apply_GrantRevokedWhileTheRouteGroupIsBroken_LastGoodVersionLeavesToo(string broken)
    {
        var set = new LastGoodManifestSet();
        set.Apply([File("inventory.yaml", Cart("aaa")), File("takeover.yaml", Takeover)]);

        var revoked = set.Apply([File("inventory.yaml", Cart(null)), File("takeover.yaml", broken)]);

        Assert.Multiple(() =>
        {
            Assert.That(revoked.Inputs.RouteGroups, Is.Empty);
            Assert.That(revoked.KeptLastGood, Is.Empty);
            Assert.That(revoked.Problems.Select(p => p.Kind), Does.Contain(ProblemKind.NotPermitted));
        });
    }

    private static IReadOnlyList<ManifestProblem> Problems(string inventory, string manifest) =>
        new LastGoodManifestSet().Apply([File("inventory.yaml", inventory), File("routes.yaml", manifest)]).Problems.Select(p => p with { Location = null }).ToArray();

    private static ManifestFile File(string path, string text) => new(path, ManifestReader.Read(text, path));
}
