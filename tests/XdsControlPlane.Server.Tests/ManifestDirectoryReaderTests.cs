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

    [Test]
    public void Read_OneOfManyFilesEdited_OnlyThatFileIsParsedAgain()
    {
        for (var i = 0; i < 30; i++)
        {
            Write($"svc-{i:00}.yaml", Service.Replace("cart", $"svc-{i:00}", StringComparison.Ordinal));
        }

        var reader = new ManifestDirectoryReader(_directory);
        var first = reader.Read(out _);
        var parsed = reader.FilesParsed;
        Write("svc-11.yaml", Service.Replace("cart", "renamed", StringComparison.Ordinal));
        File.SetLastWriteTimeUtc(Path.Combine(_directory, "svc-11.yaml"), DateTime.UtcNow.AddSeconds(5));
        var edited = reader.Read(out _);

        Assert.Multiple(() =>
        {
            Assert.That(parsed, Is.EqualTo(30));
            Assert.That(reader.FilesParsed - parsed, Is.EqualTo(1), "only the edited file is read and parsed again");
            Assert.That(edited.Where(f => !f.Path.EndsWith("svc-11.yaml", StringComparison.Ordinal)), Is.EqualTo(first.Where(f => !f.Path.EndsWith("svc-11.yaml", StringComparison.Ordinal))).Using<ManifestFile>(ReferenceEquals), "the other files are the very same");
        });
    }

    [Test]
    public void Read_OneDocumentOfALargeFileEdited_TheOtherDocumentsKeepTheirObjects()
    {
        var documents = Enumerable.Range(0, 150).Select(i => Service.Replace("cart", $"svc-{i:000}", StringComparison.Ordinal)).ToArray();
        Write("services.yaml", string.Join("---\n", documents));
        var reader = new ManifestDirectoryReader(_directory);
        var first = reader.Read(out _).Single().Contents.Objects;
        documents[70] = documents[70].Replace("port: 80", "port: 81", StringComparison.Ordinal);
        Write("services.yaml", string.Join("---\n", documents));
        File.SetLastWriteTimeUtc(Path.Combine(_directory, "services.yaml"), DateTime.UtcNow.AddSeconds(5));

        var edited = reader.Read(out var changed).Single().Contents.Objects;

        Assert.Multiple(() =>
        {
            Assert.That(changed, Is.True);
            Assert.That(edited.Select(o => o.Resource.Metadata.Name), Is.EqualTo(first.Select(o => o.Resource.Metadata.Name)));
            Assert.That(edited.Where((_, i) => i != 70), Is.EqualTo(first.Where((_, i) => i != 70)).Using<ManifestObject>(ReferenceEquals), "the documents that did not change are not read again");
            Assert.That(edited[70].Resource, Is.Not.SameAs(first[70].Resource), "the edited one is");
        });
    }

    /// <summary>A ConfigMap volume: visible links into <c>..data</c>, which the kubelet swaps to a new timestamped folder on update.</summary>
    [Test]
    public void Read_ConfigMapVolume_ReadsThroughTheLinksAndSeesTheSwap()
    {
        Write("..2026_12_01_a/routes.yaml", Service);
        Directory.CreateSymbolicLink(Path.Combine(_directory, "..data"), "..2026_12_01_a");
        File.CreateSymbolicLink(Path.Combine(_directory, "routes.yaml"), Path.Combine("..data", "routes.yaml"));
        var reader = new ManifestDirectoryReader(_directory);
        var before = reader.Read(out _);

        Write("..2026_12_01_b/routes.yaml", Service.Replace("cart", "cart-b", StringComparison.Ordinal));
        Directory.CreateSymbolicLink(Path.Combine(_directory, "..data_tmp"), "..2026_12_01_b");
        // The kubelet's atomic swap: rename(2) of the new link over the old one (File.Move refuses a directory link).
        using (var rename = System.Diagnostics.Process.Start("mv", ["-T", Path.Combine(_directory, "..data_tmp"), Path.Combine(_directory, "..data")]))
        {
            rename.WaitForExit();
            Assert.That(rename.ExitCode, Is.Zero, "mv -T");
        }

        var after = reader.Read(out var changed);

        Assert.Multiple(() =>
        {
            Assert.That(before.Single().Contents.Objects.Single().Resource.Metadata.Name, Is.EqualTo("cart"));
            Assert.That(changed, Is.True, "the swap of ..data is a change although routes.yaml (the link) stayed");
            Assert.That(after.Single().Contents.Objects.Single().Resource.Metadata.Name, Is.EqualTo("cart-b"));
        });
    }

    [Test]
    public void Read_LinksBackUpTheTree_EachFileOnce()
    {
        Write("shop/cart.yaml", Service);
        Directory.CreateSymbolicLink(Path.Combine(_directory, "loop"), _directory);
        Directory.CreateSymbolicLink(Path.Combine(_directory, "shop", "up"), "..");
        Directory.CreateSymbolicLink(Path.Combine(_directory, "also-shop"), "shop");

        var files = new ManifestDirectoryReader(_directory).Read(out _);

        Assert.That(files.Select(f => Path.GetRelativePath(_directory, f.Path)), Is.EqualTo(new[] { Path.Combine("also-shop", "cart.yaml") }), "the first path in order names the file");
    }

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_directory, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
