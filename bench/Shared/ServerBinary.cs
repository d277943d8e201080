namespace XdsControlPlane.Benchmarks;

/// <summary>Where the server host's build is: the benchmarks that start it as a child process look for it above their own output.</summary>
internal static class ServerBinary
{
    /// <summary>The nearest <c>src/XdsControlPlane.Server/bin/{Release,Debug}/net10.0/XdsControlPlane.Server.dll</c> above this program, Release first.</summary>
    public static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var configuration in new[] { "Release", "Debug" })
            {
                var dll = Path.Combine(dir.FullName, "src", "XdsControlPlane.Server", "bin", configuration, "net10.0", "XdsControlPlane.Server.dll");
                if (File.Exists(dll))
                {
                    return dll;
                }
            }
        }

        throw new InvalidOperationException("XdsControlPlane.Server.dll not found: build src/XdsControlPlane.Server or pass --server");
    }
}
