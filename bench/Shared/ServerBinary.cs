using System.Reflection.PortableExecutable;

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

    /// <summary>
    /// The server named by a <c>--server</c> option: its DLL, or a directory holding it (a publish output such as the
    /// image's ReadyToRun publish); without the option, <see cref="Find"/>.
    /// </summary>
    public static string Resolve(string? option)
    {
        if (option is null)
        {
            return Find();
        }

        var dll = Directory.Exists(option) ? Path.Combine(option, "XdsControlPlane.Server.dll") : option;
        return File.Exists(dll) ? Path.GetFullPath(dll) : throw new FileNotFoundException($"--server: no XdsControlPlane.Server.dll at '{option}'", dll);
    }

    /// <summary>How the server's own code is compiled: "ReadyToRun" (precompiled, as the image publishes it) or "JIT" (a plain build).</summary>
    public static string Form(string dll)
    {
        using var stream = File.OpenRead(dll);
        using var reader = new PEReader(stream);
        return reader.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 } ? "ReadyToRun" : "JIT";
    }
}
