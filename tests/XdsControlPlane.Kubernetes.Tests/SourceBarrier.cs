using System.Globalization;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>Waits for the Kubernetes source to finish acting on a change: a signal from its own write path, not a sleep.</summary>
internal static class SourceBarrier
{
    /// <summary>
    /// Returns once <paramref name="source"/> has published what its <paramref name="kind"/> watch saw up to
    /// <paramref name="version"/> and finished writing status for it. Passes of the pipeline come one at a time, in the
    /// order of the events: so a barrier Service, waited for in a publication, comes after the change of
    /// <paramref name="version"/>, and once the status writer has judged every pass it was told of by then, the write
    /// for <paramref name="version"/> is done.
    /// </summary>
    public static async Task SettledAsync(FakeApiServer api, KubernetesRoutingHarness source, List<RoutingInputs> published, string kind, long version)
    {
        await Eventually.WaitAsync(() => long.Parse(source.ResourceVersions[kind] ?? "0", CultureInfo.InvariantCulture) >= version, $"the source's {kind} watch to reach version {version}");
        var before = source.StatusProgress.Noted;
        foreach (var barrier in new[] { string.Create(CultureInfo.InvariantCulture, $"barrier-{version}") })
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

        await Eventually.WaitAsync(
            () =>
            {
                var (noted, judged) = source.StatusProgress;
                return noted > before && judged >= noted;
            },
            "the status writer to judge every publication so far");
    }
}
