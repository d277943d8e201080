using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Translation.Tests;

/// <summary>Reads manifest directories of the repository the way the server does (files named relative to <see cref="RepoDirectory.Root"/>).</summary>
internal static class RepoManifests
{
    /// <summary>Every YAML file below <paramref name="directory"/>, in ordinal order, parsed.</summary>
    public static IReadOnlyList<ManifestFile> Read(string directory) =>
        Directory.EnumerateFiles(directory, "*.yaml", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(file => new ManifestFile(file, ManifestReader.Read(File.ReadAllText(file), Path.GetRelativePath(RepoDirectory.Root, file))))
            .ToArray();

    /// <summary>The manifests below <paramref name="directory"/> applied to an empty last-good set.</summary>
    public static ManifestSetResult Load(string directory) => new LastGoodManifestSet().Apply(Read(directory));

    /// <summary>The routing inputs of <paramref name="yaml"/> (one or more documents), which must be valid.</summary>
    public static RoutingInputs ParseValid(string yaml)
    {
        var manifests = new LastGoodManifestSet().Apply([new ManifestFile("inputs.yaml", ManifestReader.Read(yaml, "inputs.yaml"))]);
        Assert.That(manifests.Problems, Is.Empty, "the test's manifests must be valid");
        return manifests.Inputs;
    }
}
