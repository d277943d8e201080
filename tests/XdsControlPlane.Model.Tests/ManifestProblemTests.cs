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

    /// <summary>Reasons quote what users wrote: printed by render and apply, logged by both sources, they must not forge lines or drive a terminal.</summary>
    [Test]
    public void ToString_ReasonQuotingControlCharacters_OnePrintableLine()
    {
        var problem = new ManifestProblem(new ResourceKey("RouteGroup", "shop", "x"), "spec.routes[0].retries.retryOn", "unknown retry condition '\u001b[2J\r\n[12:00:00 INF] forged\u202e'");

        Assert.That(problem.ToString(), Is.EqualTo("RouteGroup shop/x: spec.routes[0].retries.retryOn: unknown retry condition '?[2J??[12:00:00 INF] forged?'"));
    }

    [Test]
    public void ToString_HugeReason_Capped() =>
        Assert.That(new ManifestProblem(null, "", new string('x', 10_000)).ToString(), Has.Length.EqualTo(ManifestProblem.MaxTextLength + 1).And.EndsWith("…"));
}
