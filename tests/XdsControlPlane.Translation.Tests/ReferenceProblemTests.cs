using XdsControlPlane.Model;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// A reference that does not resolve is reported once, in the validator's words, whether validation finds it (the
/// current version), translation finds it (a last good version kept in force, or a reference to an object that was
/// itself rejected), or both.
/// </summary>
public sealed class ReferenceProblemTests
{
    private const string Cart = """
        apiVersion: v1
        kind: Service
        metadata: {name: cart, namespace: shop}
        spec: {ports: [{name: http, port: 8080}]}
        """;

    private const string CartV2 = """
        apiVersion: v1
        kind: Service
        metadata: {name: cart-v2, namespace: shop}
        spec: {ports: [{name: http, port: 8080}]}
        """;

    private const string Canary = """
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: canary, namespace: shop}
        spec:
          routes:
          - service: cart
            to: [{service: cart-v2}]
        """;

    private static readonly ResourceKey CanaryKey = new(RouteGroup.KindName, "shop", "canary");

    [Test]
    public void Translate_KeptLastGoodVersionLosesItsDestination_ReportedOnce()
    {
        var set = new LastGoodManifestSet();
        Assert.That(set.Apply(Files(Cart, CartV2, Canary)).Problems, Is.Empty);

        var result = set.Apply(Files(Cart, Canary));
        var translation = new RoutingTranslator().Translate(result.Inputs);
        ManifestProblem[] problems = [.. result.Problems, .. result.Unreported(translation.Problems)];

        Assert.Multiple(() =>
        {
            Assert.That(result.KeptLastGood, Is.EqualTo(new[] { CanaryKey }), "the RouteGroup stays in force, so translation meets the broken reference too");
            Assert.That(translation.Problems.Select(Text), Is.EqualTo(new[] { "spec.routes[0].to[0].service: Service shop/cart-v2 does not exist" }), "in the validator's words");
            Assert.That(problems.Where(p => p.Resource == CanaryKey).Select(Text), Is.EqualTo(new[] { "spec.routes[0].to[0].service: Service shop/cart-v2 does not exist" }));
            Assert.That(problems.Single(p => p.Resource == CanaryKey).Location, Is.Not.Null, "validation's copy, which names the file, is the one kept");
        });
    }

    [Test]
    public void Translate_DestinationServiceItselfRejected_ReportedOnceByTranslation()
    {
        // The RouteGroup validates (cart-v2 is there), but cart-v2 is invalid and not in force: only translation sees it missing.
        var brokenCartV2 = CartV2.Replace("[{name: http, port: 8080}]", "[{name: http, port: 8080}, {name: web, port: 8080}]", StringComparison.Ordinal);
        var result = new LastGoodManifestSet().Apply(Files(Cart, brokenCartV2, Canary));
        var translation = new RoutingTranslator().Translate(result.Inputs);
        ManifestProblem[] problems = [.. result.Problems, .. result.Unreported(translation.Problems)];

        Assert.Multiple(() =>
        {
            Assert.That(result.Problems.Select(p => p.Resource), Is.All.EqualTo(new ResourceKey("Service", "shop", "cart-v2")));
            Assert.That(problems.Where(p => p.Resource == CanaryKey).Select(Text), Is.EqualTo(new[] { "spec.routes[0].to[0].service: Service shop/cart-v2 does not exist" }));
            Assert.That(problems.Single(p => p.Resource == CanaryKey).Kind, Is.EqualTo(ProblemKind.UnresolvedReference));
        });
    }

    private static string Text(ManifestProblem problem) => $"{problem.FieldPath}: {problem.Reason}";

    /// <summary>One file per document, named after the object, so an object keeps its file from one apply to the next.</summary>
    private static ManifestFile[] Files(params string[] documents) =>
        [.. documents.Select(text => System.Text.RegularExpressions.Regex.Match(text, "name: ([a-z0-9-]+)").Groups[1].Value + ".yaml").Zip(documents, (name, text) => new ManifestFile(name, ManifestReader.Read(text, name)))];
}
