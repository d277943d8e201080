namespace XdsControlPlane.Testing;

/// <summary>Paths inside the repository (examples, harness scripts), found from the test's output directory.</summary>
internal static class RepoDirectory
{
    /// <summary>The directory holding XdsControlPlane.sln.</summary>
    public static string Root
    {
        get
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

    /// <summary>The path of <paramref name="parts"/> below <see cref="Root"/>.</summary>
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);
}
