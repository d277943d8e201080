namespace XdsControlPlane.Model.Tests;

/// <summary>PreviewGrants read from YAML: validation naming the field, and the last-good set keeping them without a translation.</summary>
public sealed class PreviewGrantTests
{
    private const string Hash = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    [Test]
    public void Validate_GoodGrant_HasNoProblems()
    {
        Assert.That(Problems(Grant()), Is.Empty);
    }

    [TestCase("sandbox: feature-x", "sandbox: feature-x\n  localWorkload: laptop", "spec: needs exactly one of sandbox or localWorkload")]
    [TestCase("sandbox: feature-x", "description: none", "spec: needs exactly one of sandbox or localWorkload")]
    [TestCase("sandbox: feature-x", "sandbox: Feature_X", "spec.sandbox: must be a DNS subdomain name")]
    [TestCase(Hash, "sbxp_thisIsATokenPastedByMistake", "spec.secretHash: must be 'sha256:' followed by 64 lowercase hex digits")]
    [TestCase("2099-01-01T00:00:00Z", "2099-01-01T00:00:00", "spec.expiresAt: must be an RFC 3339 timestamp with an offset, such as 2026-12-06T09:00:00Z, got '2099-01-01T00:00:00'")]
    [TestCase("2099-01-01T00:00:00Z", "tomorrow", "spec.expiresAt: must be an RFC 3339 timestamp with an offset")]
    [TestCase("port: 8080", "port: 0", "spec.preview.port: must be from 1 to 65535, got 0")]
    public void Validate_BadField_NamesIt(string from, string to, string expected)
    {
        var problems = Problems(Grant().Replace(from, to, StringComparison.Ordinal));

        Assert.That(problems, Has.Some.StartsWith(expected));
        Assert.That(string.Join("\n", problems), Does.Not.Contain("sbxp_"), "a token pasted in secretHash is never echoed");
    }

    [Test]
    public void Validate_LongDescription_NamesTheLimit()
    {
        var problems = Problems(Grant() + "  description: " + new string('x', 257) + "\n");

        Assert.That(problems, Is.EqualTo(new[] { "spec.description: at most 256 characters, got 257" }));
    }

    [Test]
    public void LastGoodSet_GrantAddedChangedOrRemoved_IsKeptButChangesNoRoutingInput()
    {
        var set = new LastGoodManifestSet();
        var services = File("services.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec:\n  ports: [{port: 8080}]\n");
        var first = set.Apply([services]);

        var added = set.Apply([services, File("grant.yaml", Grant())]);
        var edited = set.Apply([services, File("grant.yaml", Grant().Replace("2099", "2098", StringComparison.Ordinal))]);
        var broken = set.Apply([services, File("grant.yaml", Grant().Replace(Hash, "sha256:x", StringComparison.Ordinal))]);
        var removed = set.Apply([services]);

        Assert.Multiple(() =>
        {
            Assert.That(new[] { added.InputsChanged, edited.InputsChanged, broken.InputsChanged, removed.InputsChanged }, Is.All.False);
            Assert.That(new[] { added.Inputs, edited.Inputs, removed.Inputs }, Is.All.SameAs(first.Inputs), "nothing new to translate");
            Assert.That(((PreviewGrant)edited.InForce[new ResourceKey(PreviewGrant.KindName, "shop", "share-1")].Resource).Spec.ExpiresAt, Is.EqualTo("2098-01-01T00:00:00Z"));
            Assert.That(broken.KeptLastGood, Is.EqualTo(new[] { new ResourceKey(PreviewGrant.KindName, "shop", "share-1") }), "a broken edit keeps the last good grant");
            Assert.That(removed.InForce.Keys.Where(k => k.Kind == PreviewGrant.KindName), Is.Empty);
        });
    }

    private static string Grant() => $$"""
        apiVersion: sandboxctl.io/v1alpha1
        kind: PreviewGrant
        metadata: {name: share-1, namespace: shop}
        spec:
          sandbox: feature-x
          preview: {service: cart, port: 8080}
          secretHash: {{Hash}}
          expiresAt: 2099-01-01T00:00:00Z

        """;

    private static ManifestFile File(string path, string text) => new(path, ManifestReader.Read(text, path));

    private static string[] Problems(string yaml)
    {
        var read = ManifestReader.Read(yaml, "grant.yaml");
        Assert.That(read.Problems, Is.Empty, "reads");
        return [.. ManifestValidator.Validate(read.Objects.Single().Resource, new RoutingInputs([])).Select(p => $"{p.FieldPath}: {p.Reason}")];
    }
}
