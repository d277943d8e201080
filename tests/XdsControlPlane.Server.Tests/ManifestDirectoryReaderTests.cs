using XdsControlPlane.Model;

namespace XdsControlPlane.Server.Tests;

/// <summary>The manifest directory reader on real files.</summary>
public sealed class ManifestDirectoryReaderTests
{
    private const string Service = "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec: {ports: [{port: 80}]}\n";
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("xdscp-reader-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Read_NestedAndHiddenEntries_ReadsVisibleManifestsOnly()
    {
        Write("shop/cart.yaml", Service);
        Write("other.yml", Service.Replace("cart", "other", StringComparison.Ordinal));
        Write("notes.txt", "not a manifest");
        Write("..2026_11_24/cart.yaml", Service);   // a ConfigMap volume's hidden data folder
        Write(".hidden.yaml", Service);

        var files = new ManifestDirectoryReader(_directory).Read(out var changed);

        Assert.Multiple(() =>
        {
            Assert.That(changed, Is.True);
            Assert.That(files.Select(f => Path.GetRelativePath(_directory, f.Path)), Is.EqualTo(new[] { "other.yml", Path.Combine("shop", "cart.yaml") }));
        });
    }

    [Test]
    public void Read_Again_UnchangedFilesKeepTheirObjectsAndChangesAreNoticed()
    {
        Write("a.yaml", Service);
        Write("b.yaml", Service.Replace("cart", "b", StringComparison.Ordinal));
        var reader = new ManifestDirectoryReader(_directory);
        var first = reader.Read(out _);

        var unchanged = reader.Read(out var changedWhenUntouched);
        Write("b.yaml", Service.Replace("cart", "b2", StringComparison.Ordinal));
        File.SetLastWriteTimeUtc(Path.Combine(_directory, "b.yaml"), DateTime.UtcNow.AddSeconds(5));
        var edited = reader.Read(out var changedAfterEdit);
        File.Delete(Path.Combine(_directory, "a.yaml"));
        var deleted = reader.Read(out var changedAfterDelete);

        Assert.Multiple(() =>
        {
            Assert.That(changedWhenUntouched, Is.False);
            Assert.That(unchanged[0].Contents.Objects[0].Resource, Is.SameAs(first[0].Contents.Objects[0].Resource));
            Assert.That(changedAfterEdit, Is.True);
            Assert.That(edited[0].Contents.Objects[0].Resource, Is.SameAs(first[0].Contents.Objects[0].Resource), "a.yaml was not parsed again");
            Assert.That(edited[1].Contents.Objects[0].Resource.Metadata.Name, Is.EqualTo("b2"));
            Assert.That(changedAfterDelete, Is.True);
            Assert.That(deleted, Has.Count.EqualTo(1));
        });
    }

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_directory, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
