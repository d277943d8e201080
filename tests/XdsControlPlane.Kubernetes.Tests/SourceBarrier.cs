using System.Globalization;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>Waits for the Kubernetes source to finish acting on a change: a signal from its own write path, not a sleep.</summary>
internal static class SourceBarrier
{
    /// <summary>
    /// Returns once <paramref name="source"/> has published what its <paramref name="kind"/> watch saw up to
    /// <paramref name="version"/> and finished writing status for it. The source publishes, then writes status, one
    /// publication at a time: so two barrier Services, each waited for in a publication, leave the write for
    /// <paramref name="version"/> done.
    /// </summary>
    public static async Task SettledAsync(FakeApiServer api, KubernetesSource source, List<RoutingInputs> published, string kind, long version)
    {
        await Eventually.WaitAsync(() => long.Parse(source.ResourceVersions[kind] ?? "0", CultureInfo.InvariantCulture) >= version, $"the source's {kind} watch to reach version {version}");
        foreach (var barrier in new[] { string.Create(CultureInfo.InvariantCulture, $"barrier-1-{version}"), string.Create(CultureInfo.InvariantCulture, $"barrier-2-{version}") })
        {
            api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", barrier));
            await Eventually.WaitAsync(
                () =>
                {
                    lock (published)
                    {
                        return published.Count > 0 && published[^1].Services.Any(s => s.Metadata.Name == barrier);
                    }
                },
                $"a publication with the Service {barrier}");
        }
    }
}
