using System.Diagnostics;

namespace XdsControlPlane.Docker.Tests.Cluster;

/// <summary>
/// The docker CLI, for what Testcontainers' API does not do: BuildKit builds (the Dockerfiles use RUN --mount and
/// $BUILDPLATFORM, which the engine's classic /build endpoint rejects) and <c>docker save</c> to load images into K3s.
/// </summary>
internal static class DockerCli
{
    /// <summary>Runs <c>docker <paramref name="args"/></c>; fails the test with its output on a non-zero exit.</summary>
    public static async Task RunAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("docker") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["DOCKER_BUILDKIT"] = "1";
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            Assert.Fail($"docker {string.Join(' ', start.ArgumentList)} exited {process.ExitCode}:\n{await output}\n{await errors}");
        }
    }
}
