namespace XdsControlPlane.Model.Tests;

public sealed class ManifestProblemTests
{
    [TestCase("spec.routes[0].to", null, null, "RouteGroup shop/feature-x: spec.routes[0].to: weights must sum to 100, got 90")]
    [TestCase("spec.routes[0].to", "routing.yaml", null, "routing.yaml (document 2): RouteGroup shop/feature-x: spec.routes[0].to: weights must sum to 100, got 90")]
    [TestCase("spec.routes[0].to", "routing.yaml", 14, "routing.yaml:14 (document 2): RouteGroup shop/feature-x: spec.routes[0].to: weights must sum to 100, got 90")]
    [TestCase("", null, null, "RouteGroup shop/feature-x: weights must sum to 100, got 90")]
    public void ToString_ProblemOfAnObject_LocationObjectPathAndReason(string path, string? source, int? line, string expected)
    {
        var location = source is null ? null : new ManifestLocation(source, 2, line);
        var problem = new ManifestProblem(new ResourceKey("RouteGroup", "shop", "feature-x"), path, "weights must sum to 100, got 90", location);

        Assert.That(problem.ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void ToString_ProblemOfNoObject_LocationAndReason() =>
        Assert.That(new ManifestProblem(null, "", "not valid YAML: Duplicate key a", new ManifestLocation("bad.yaml", 0, 2)).ToString(), Is.EqualTo("bad.yaml:2 (document 0): not valid YAML: Duplicate key a"));
}
