namespace XdsControlPlane.Server.Tests;

/// <summary>Paths inside the repository (the examples the tests serve), found from the test's output directory.</summary>
internal static class RepoDirectory
{
    /// <summary>The path of <paramref name="parts"/> below the directory holding XdsControlPlane.sln.</summary>
    public static string Path(params string[] parts)
    {
        var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (directory is not null && !File.Exists(System.IO.Path.Combine(directory.FullName, "XdsControlPlane.sln")))
        {
            directory = directory.Parent;
        }

        return System.IO.Path.Combine([directory!.FullName, .. parts]);
    }
}
