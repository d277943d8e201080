using System.Net;
using System.Text.RegularExpressions;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Docker.Tests;

/// <summary>
/// The server under the conditions of its image, without Docker: the base image's environment overlaid with the
/// Dockerfile's ENV, a read-only root filesystem with only the temporary directory writable (the chart mounts an emptyDir on /tmp; here a tmpfs is TMPDIR), the example manifests
/// mounted read-only. It must become ready and log no warning (the base image's ASPNETCORE_HTTP_PORTS=8080 made Kestrel
/// warn at every start before the Dockerfile cleared it).
/// </summary>
[TestFixture]
public sealed partial class ImageConditionsTests
{
    /// <summary>What mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled sets (its published image configuration; the aspnet image inherits the same).</summary>
    private static readonly Dictionary<string, string> BaseImageEnvironment = new(StringComparer.Ordinal)
    {
        ["APP_UID"] = "1654",
        ["ASPNETCORE_HTTP_PORTS"] = "8080",
        ["DOTNET_RUNNING_IN_CONTAINER"] = "true",
    };

    [Test]
    public async Task Server_WithTheImagesEnvironmentOnAReadOnlyRoot_BecomesReadyWithoutWarnings()
    {
        var environment = new Dictionary<string, string>(BaseImageEnvironment);
        foreach (var (name, value) in Dockerfile.Load(RepoDirectory.Path("src", "XdsControlPlane.Server", "Dockerfile")).Final.Environment())
        {
            environment[name] = value;
        }

        ServerProcess server;
        try
        {
            server = await ServerProcess.StartAsync(["--manifests", RepoDirectory.Path("examples", "shop")], environment, readOnlyRootFilesystem: true);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("exited with 90", StringComparison.Ordinal) || e.Message.Contains("unshare:", StringComparison.Ordinal))
        {
            Prerequisite.Missing($"user and mount namespaces (unshare -Urm) are needed to give the server a read-only root: {e.Message}");
            return;
        }

        await using (server)
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.AdminPort}"), Timeout = TimeSpan.FromSeconds(5) };
            // A generous bound: reading the manifests and publishing the first snapshot took up to 20 s on a loaded 2-core machine.
            await Eventually.WaitAsync(
                async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.OK,
                () => $"ready on a read-only root; output:\n{server.Output()}",
                TimeSpan.FromSeconds(60));

            Assert.That(server.Running, Is.True, server.Output());
            Assert.That(WarningOrError().Matches(server.Output()), Is.Empty, server.Output());
        }
    }

    // The plain log format's level column.
    [GeneratedRegex(@"^\[\d\d:\d\d:\d\d (WRN|ERR|FTL)\].*$", RegexOptions.Multiline)]
    private static partial Regex WarningOrError();
}
