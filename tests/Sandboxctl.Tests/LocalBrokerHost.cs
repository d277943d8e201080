using XdsControlPlane.Server;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>The in-process server the local-connect tests run their agent against: every port free, the broker's per-workload listeners on free ports.</summary>
internal static class LocalBrokerHost
{
    /// <summary>Starts a server serving <paramref name="manifests"/>, or with <paramref name="kubernetesApi"/> the fake API server's cluster.</summary>
    /// <summary>With <paramref name="previewDomain"/>, the server serves preview hosts under it (<c>--preview-domain</c>).</summary>
    public static async Task<ServerHost> StartAsync(HostLog log, string? manifests = null, Uri? kubernetesApi = null, string? token = null, string? previewDomain = null)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await new InProcessServer()
            .With("Tunnel:Token", token)
            .With("Translation:PreviewDomain", previewDomain)
            .WithLog(log)
            .WithManifests(manifests)
            .WithKubernetesApi(kubernetesApi)
            .StartAsync(cancel.Token);
    }
}
