namespace XdsControlPlane.Model.Tests;

/// <summary>The name rules: the patterns the CRD schemas carry, and the checks code makes with them.</summary>
public sealed class SchemaPatternsTests
{
    private static readonly Dictionary<string, Func<string?, bool>> Checks = new(StringComparer.Ordinal)
    {
        ["label"] = SchemaPatterns.IsDnsLabel,
        ["subdomain"] = SchemaPatterns.IsDnsSubdomain,
        ["key"] = SchemaPatterns.IsRoutingKey,
        ["service"] = SchemaPatterns.IsServiceReference,
        ["header"] = SchemaPatterns.IsHeaderName,
        ["env"] = SchemaPatterns.IsEnvName,
        ["hash"] = SchemaPatterns.IsSecretHash,
    };

    [Test]
    public void Patterns_ComposedFromOneLabel_AreTheSchemasText() => Assert.Multiple(() =>
    {
        Assert.That(SchemaPatterns.DnsLabel, Is.EqualTo("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"));
        Assert.That(SchemaPatterns.ServiceReference, Is.EqualTo("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$"));
    });

    [TestCase("label", "cart", true)]
    [TestCase("label", "cart-2", true)]
    [TestCase("label", "-cart", false)]
    [TestCase("label", "cart-", false)]
    [TestCase("label", "Cart", false)]
    [TestCase("label", "cart.shop", false)]
    [TestCase("label", "", false)]
    [TestCase("label", null, false)]
    [TestCase("subdomain", "cart.v2.example", true)]
    [TestCase("subdomain", "cart..v2", false)]
    [TestCase("subdomain", null, false)]
    [TestCase("key", "feature-x", true)]
    [TestCase("key", "Feature", false)]
    [TestCase("key", "", false)]
    [TestCase("service", "cart", true)]
    [TestCase("service", "cart.shop", true)]
    [TestCase("service", "cart.shop.svc", false)]
    [TestCase("header", "X_Trace~1", true)]
    [TestCase("header", "x user", false)]
    [TestCase("header", ":path", false)]
    [TestCase("env", "_LOG_LEVEL1", true)]
    [TestCase("env", "1X", false)]
    [TestCase("env", "A-B", false)]
    [TestCase("hash", "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [TestCase("hash", "sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [TestCase("hash", "s3cret", false)]
    public void Check_Value_FollowsTheRule(string rule, string? value, bool expected) =>
        Assert.That(Checks[rule](value), Is.EqualTo(expected));

    [TestCase("label", 63)]
    [TestCase("subdomain", 253)]
    [TestCase("key", 63)]
    public void Check_LongestName_OneMoreIsRefused(string rule, int longest) => Assert.Multiple(() =>
    {
        Assert.That(Checks[rule](new string('a', longest)), Is.True);
        Assert.That(Checks[rule](new string('a', longest + 1)), Is.False);
    });
}
