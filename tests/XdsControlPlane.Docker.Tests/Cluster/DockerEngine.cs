using DotNet.Testcontainers.Configurations;

namespace XdsControlPlane.Docker.Tests.Cluster;

/// <summary>
/// Whether a Docker engine answers, found the way Testcontainers finds one (DOCKER_HOST, the Docker CLI's context,
/// ~/.testcontainers.properties, the default socket) and bounded in time, asked once per test run.
/// </summary>
internal static class DockerEngine
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(20);
    private static readonly Lazy<Task<string?>> Probe = new(ProbeAsync);

    /// <summary>Why the Docker suite cannot run here ("no Docker engine: …"), or null when an engine answered.</summary>
    public static Task<string?> UnavailableReasonAsync() => Probe.Value;

    /// <summary>
    /// Reports the calling test (or fixture) skipped with the reason when no engine answers. Skipped, never failed, even
    /// under CI=true: CI machines have no Docker engine, and this suite is for machines that do (docs/testing.md).
    /// </summary>
    public static async Task RequireAsync()
    {
        if (await UnavailableReasonAsync() is { } reason)
        {
            Assert.Ignore(reason);
        }
    }

    private static async Task<string?> ProbeAsync()
    {
        var where = Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? $"DOCKER_HOST={host}" : "DOCKER_HOST unset, /var/run/docker.sock " + (File.Exists("/var/run/docker.sock") ? "present" : "absent");
        try
        {
            // Testcontainers pings every candidate endpoint; it answers null when none responds.
            var endpoint = await Task.Run(() => TestcontainersSettings.OS.DockerEndpointAuthConfig).WaitAsync(ProbeTimeout);
            return endpoint is null ? $"no Docker engine: Testcontainers found no endpoint that answers ({where})" : null;
        }
        catch (TimeoutException)
        {
            return $"no Docker engine: no endpoint answered within {ProbeTimeout.TotalSeconds:0} s ({where})";
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or TypeInitializationException)
        {
            return $"no Docker engine: {e.GetBaseException().Message} ({where})";
        }
    }
}
