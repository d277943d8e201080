using System.Globalization;

namespace XdsControlPlane.Model.Tests;

/// <summary>
/// Reading a new version of a file by its documents: what changed is parsed, the rest keeps its objects, and every
/// version reads exactly as a whole read of it does (objects, their locations, problems, ignored kinds).
/// </summary>
public sealed class ManifestDocumentCacheTests
{
    private const string Source = "groups.yaml";

    [Test]
    public void Read_OneDocumentOfAHundredAndFiftyEdited_OnlyItIsParsed_TheOthersKeepTheirObjects()
    {
        var cache = new ManifestDocumentCache();
        var before = cache.Read(File(150), Source);

        var after = cache.Read(File(150, edited: 70), Source);

        Assert.Multiple(() =>
        {
            Assert.That(cache.DocumentsParsed, Is.EqualTo(1), "only the edited document is parsed again");
            Assert.That(after.Objects.Where((_, i) => i != 70), Is.EqualTo(before.Objects.Where((_, i) => i != 70)).Using<ManifestObject>(ReferenceEquals), "the other 149 are the very same objects");
            Assert.That(((RouteGroup)after.Objects[70].Resource).Spec.Routes[0].Match?.Headers[0].Exact, Is.EqualTo("edited"));
            AssertReadsAsWhole(after, File(150, edited: 70));
        });
    }

    [Test]
    public void Read_EditedDocumentBroken_ProblemNamesItsDocumentAndLine_OthersStay()
    {
        var cache = new ManifestDocumentCache();
        cache.Read(File(150), Source);
        var broken = File(150).Replace("{\"service\":\"svc-0042\",\"weight\":20}", "{\"service\":\"svc-0042\",\"weight\":\"twenty\"}", StringComparison.Ordinal);

        var result = cache.Read(broken, Source);

        Assert.Multiple(() =>
        {
            Assert.That(cache.DocumentsParsed, Is.EqualTo(1));
            Assert.That(result.Objects, Has.Count.EqualTo(149));
            Assert.That(result.Problems.Single().ToString(), Does.StartWith("groups.yaml:85 (document 42): RouteGroup shop/rg-0042: spec.routes[0].to[1].weight:"));
            AssertReadsAsWhole(result, broken);
        });
    }

    [Test]
    public void Read_EditedDocumentNotYaml_TheFileIsOneProblemAsAlways()
    {
        var cache = new ManifestDocumentCache();
        cache.Read(File(150), Source);
        var broken = File(150).Replace("{\"name\":\"rg-0042\"", "{\"name\":[\"rg-0042\"", StringComparison.Ordinal);

        var result = cache.Read(broken, Source);

        Assert.Multiple(() =>
        {
            Assert.That(cache.DocumentsParsed, Is.Null, "read whole");
            Assert.That(result.Objects, Is.Empty, "a file that is not YAML defines nothing new: its last good objects stay");
            Assert.That(result.Problems.Single().ToString(), Does.StartWith("groups.yaml:").And.Contain("not valid YAML"));
            AssertReadsAsWhole(result, broken);
        });
    }

    [Test]
    public void Read_DocumentsInsertedAbove_OthersKeepTheirObjectsAtTheirNewPlaces()
    {
        var cache = new ManifestDocumentCache();
        var before = cache.Read(File(20), Source);
        var inserted = "# a comment\n" + Document(999) + "\n---\n" + Document(998) + "\n---\n" + File(20);

        var after = cache.Read(inserted, Source);

        Assert.Multiple(() =>
        {
            // The first document of before had no marker line above it; now it has: its text changed.
            Assert.That(cache.DocumentsParsed, Is.EqualTo(3));
            Assert.That(after.Objects.Skip(3).Select(o => o.Resource), Is.EqualTo(before.Objects.Skip(1).Select(o => o.Resource)).Using<IManifestObject>(ReferenceEquals));
            Assert.That(after.Objects[3].Location, Is.EqualTo(new ManifestLocation(Source, 3, 8)));
            AssertReadsAsWhole(after, inserted);
        });
    }

    /// <summary>Texts whose split is not plain, or that reach the edges of a split: each version reads as a whole read does.</summary>
    [TestCase("%YAML 1.2\n---\n{0}\n---\n{1}\n", TestName = "Read_Directive_ReadWhole")]
    [TestCase("{0}\n...\n---\n{1}\n", TestName = "Read_DocumentEndMarker_ReadWhole")]
    [TestCase("{0}\n---\nkind: &a Service\nother: *a\n---\n{1}\n", TestName = "Read_Anchors_ReadWhole")]
    [TestCase("---\n{0}\n---\n---\n{1}\n---\n", TestName = "Read_LeadingMarkerAndEmptyDocuments_AsWhole")]
    [TestCase("# only a comment\n---\n{0}\n--- # after a marker\n{1}\n", TestName = "Read_Comments_AsWhole")]
    [TestCase("{0}\r\n---\r\n{1}\r\n", TestName = "Read_CrLf_AsWhole")]
    [TestCase("{0}\n--- {1}\n", TestName = "Read_ContentOnTheMarkerLine_AsWhole")]
    [TestCase("{0}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d}}\n---\n{1}\n", TestName = "Read_IgnoredKind_AsWhole")]
    [TestCase("{0}\n---\n- not a mapping\n---\n{1}\n", TestName = "Read_DocumentNotAMapping_AsWhole")]
    [TestCase("{0}\n---\n{1}\n---\n{0}\n", TestName = "Read_SameDocumentTwice_AsWhole")]
    [TestCase("{0}\n---\nkind: \"unclosed\n---\n{1}\n", TestName = "Read_UnclosedQuoteAcrossAMarker_AsWhole")]
    [TestCase("", TestName = "Read_Empty_AsWhole")]
    public void Read_EveryVersion_ReadsAsAWholeReadDoes(string template)
    {
        var cache = new ManifestDocumentCache();
        var first = string.Format(CultureInfo.InvariantCulture, template, Document(1), Document(2));
        var second = string.Format(CultureInfo.InvariantCulture, template, Document(1), Document(2, edited: true));

        var firstRead = cache.Read(first, Source);
        var secondRead = cache.Read(second, Source);

        Assert.Multiple(() =>
        {
            AssertReadsAsWhole(firstRead, first);
            AssertReadsAsWhole(secondRead, second);
        });
    }

    private static void AssertReadsAsWhole(ManifestReadResult read, string text)
    {
        var whole = ManifestReader.Read(text, Source);
        Assert.That(read.Objects.Select(o => (o.Resource.Key, o.Location)), Is.EqualTo(whole.Objects.Select(o => (o.Resource.Key, o.Location))), "objects and their locations");
        Assert.That(read.Objects.Select(o => RoutingFields.Of(o.Resource).ToJsonString()), Is.EqualTo(whole.Objects.Select(o => RoutingFields.Of(o.Resource).ToJsonString())), "what the objects say");
        Assert.That(read.Problems, Is.EqualTo(whole.Problems), "problems");
        Assert.That(read.IgnoredKinds, Is.EqualTo(whole.IgnoredKinds), "ignored kinds");
    }

    /// <summary>A file as the control-loop benchmark writes it: one compact JSON document per line, separated by <c>---</c> lines.</summary>
    private static string File(int count, int edited = -1) =>
        string.Join("---\n", Enumerable.Range(0, count).Select(i => Document(i, i == edited) + "\n"));

    private static string Document(int i, bool edited = false)
    {
        var name = i.ToString("0000", CultureInfo.InvariantCulture);
        var user = edited ? "edited" : "user-" + name;
        return "{\"apiVersion\":\"sandboxctl.io/v1alpha1\",\"kind\":\"RouteGroup\",\"metadata\":{\"name\":\"rg-" + name + "\",\"namespace\":\"shop\"},"
            + "\"spec\":{\"routes\":[{\"service\":\"svc-" + name + "\",\"match\":{\"headers\":[{\"name\":\"x-user\",\"exact\":\"" + user + "\"}]},"
            + "\"to\":[{\"service\":\"svc-" + name + "-fork\",\"weight\":80},{\"service\":\"svc-" + name + "\",\"weight\":20}]}]}}";
    }
}
