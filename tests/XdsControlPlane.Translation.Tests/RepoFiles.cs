using XdsControlPlane.Model;

namespace XdsControlPlane.Translation.Tests;

/// <summary>Finds files in the repository and reads manifest directories (and inline manifests) the way the server does.</summary>
internal static class RepoFiles
{
    public static string Root { get; } = FindRoot();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static IReadOnlyList<ManifestFile> ReadManifests(string directory) =>
        Directory.EnumerateFiles(directory, "*.yaml", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(file => new ManifestFile(file, ManifestReader.Read(File.ReadAllText(file), System.IO.Path.GetRelativePath(Root, file))))
            .ToArray();

    public static ManifestSetResult LoadManifests(string directory) => new LastGoodManifestSet().Apply(ReadManifests(directory));

    /// <summary>The routing inputs of <paramref name="yaml"/> (one or more documents), which must be valid.</summary>
    public static RoutingInputs ParseValid(string yaml)
    {
        var manifests = new LastGoodManifestSet().Apply([new ManifestFile("inputs.yaml", ManifestReader.Read(yaml, "inputs.yaml"))]);
        Assert.That(manifests.Problems, Is.Empty, "the test's manifests must be valid");
        return manifests.Inputs;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "XdsControlPlane.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("XdsControlPlane.sln not found above the test directory");
    }
}
