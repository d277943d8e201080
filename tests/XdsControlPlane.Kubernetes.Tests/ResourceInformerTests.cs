using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>One informer against the fake API server: how it retries a failing watch, what it reports as changed.</summary>
public sealed class ResourceInformerTests
{
    [Test]
    public void Backoff_DoublesPerFailureUpToThirtySeconds_WithTwentyPercentJitter()
    {
        foreach (var (failures, seconds) in new[] { (1, 1.0), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (7, 30), (40, 30) })
        {
            var backoff = ResourceInformer.Backoff(new Random(failures));
            var delays = Enumerable.Range(0, 500).Select(_ => backoff.Delay(failures).TotalSeconds).ToArray();

            Assert.Multiple(() =>
            {
                Assert.That(delays, Is.All.InRange(seconds * 0.8, seconds * 1.2), $"failure {failures}");
                Assert.That(delays.Max() - delays.Min(), Is.GreaterThan(seconds * 0.2), $"failure {failures}: replicas must not retry in step");
            });
        }
    }

    [Test]
    public async Task FailingWatch_IsRetriedAfterEachBackoff_ThenResumesWithoutRelisting()
    {
        await using var api = await FakeApiServer.StartAsync();
        using var client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() });
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var informer = new ResourceInformer(ResourceSources.Sandboxes(client, null), clock, NullLogger.Instance, new Random(1));
        api.FailingWatches = 2;
        using var stop = new CancellationTokenSource();
        var running = informer.RunAsync(stop.Token);

        await Eventually.WaitAsync(() => informer.HasSynced && Watches() == 1, "the list and the first (failing) watch");

        // Time moves only in the test's steps, so each retry shows how long the informer waited: at least its backoff,
        // whose jitter the same seed replays (about 1 s, then 2 s). The upper bound is the unit test's above.
        var replayed = ResourceInformer.Backoff(new Random(1));
        var (firstBackoff, secondBackoff) = (replayed.Delay(1), replayed.Delay(2));
        var firstWait = await AdvanceUntilAsync(() => Watches() == 2, "the first retry");
        var secondWait = await AdvanceUntilAsync(() => Watches() == 3 && api.OpenWatches == 1, "the second retry, which the server accepts");

        api.Put(FakeApiServer.Sandboxes, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "Sandbox",
            ["metadata"] = new JsonObject { ["name"] = "after-the-outage", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["forks"] = new JsonArray(new JsonObject { ["of"] = new JsonObject { ["name"] = "cart" } }) },
        });
        await Eventually.WaitAsync(() => informer.Objects.Any(o => o.Resource.Metadata.Name == "after-the-outage"), "the Sandbox created after the outage");

        Assert.Multiple(() =>
        {
            Assert.That(firstWait, Is.GreaterThanOrEqualTo(firstBackoff), "the first retry waited its backoff");
            Assert.That(secondWait, Is.GreaterThanOrEqualTo(secondBackoff), "the second retry waited twice as long");
            Assert.That(informer.Lists, Is.EqualTo(1), "a failed watch resumes from its version; only 410 Gone relists");
            Assert.That(api.WatchesOf(FakeApiServer.Sandboxes).Distinct().Count(), Is.EqualTo(1), "every retry from the listed version");
        });
        await stop.CancelAsync();
        await running;

        int Watches() => api.WatchesOf(FakeApiServer.Sandboxes).Length;

        async Task<TimeSpan> AdvanceUntilAsync(Func<bool> happened, string what)
        {
            var advanced = TimeSpan.Zero;
            await Eventually.WaitAsync(
                () =>
                {
                    if (happened())
                    {
                        return true;
                    }

                    clock.Advance(TimeSpan.FromMilliseconds(50));
                    advanced += TimeSpan.FromMilliseconds(50);
                    return false;
                },
                what);
            return advanced;
        }
    }

    [Test]
    public async Task Events_ReportTheObjectAndWhetherRoutingChanged_StatusOnlyUpdatesKeepTheViewFresh()
    {
        await using var api = await FakeApiServer.StartAsync();
        using var client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() });
        var informer = new ResourceInformer(ResourceSources.Sandboxes(client, null), TimeProvider.System, NullLogger.Instance, new Random(1));
        var changes = new List<InformerChange>();
        informer.Subscribe(batch =>
        {
            lock (changes)
            {
                changes.AddRange(batch);
            }
        });
        using var stop = new CancellationTokenSource();
        var running = informer.RunAsync(stop.Token);
        await Eventually.WaitAsync(() => informer.HasSynced && api.OpenWatches == 1, "the list and the watch");

        api.Put(FakeApiServer.Sandboxes, Sandbox("a", "cart"));
        await Eventually.WaitAsync(() => Count() == 1, "the new Sandbox");
        api.PatchStatus(FakeApiServer.Sandboxes, "shop", "a", new JsonObject { ["phase"] = "Ready" });
        await Eventually.WaitAsync(() => Count() == 2, "the status-only update");
        var version = (string?)api.Get(FakeApiServer.Sandboxes, "shop", "a")!["metadata"]!["resourceVersion"];
        var fresh = informer.Find("shop", "a").Object?.Resource.Metadata.ResourceVersion;
        api.Put(FakeApiServer.Sandboxes, Sandbox("a", "cart-v2"));
        await Eventually.WaitAsync(() => Count() == 3, "the spec change");
        api.Delete(FakeApiServer.Sandboxes, "shop", "a");
        await Eventually.WaitAsync(() => Count() == 4, "the deletion");
        await stop.CancelAsync();
        await running;

        Assert.Multiple(() =>
        {
            Assert.That(changes, Is.EqualTo(new[]
            {
                new InformerChange("shop", "a", Routing: true),
                new InformerChange("shop", "a", Routing: false),
                new InformerChange("shop", "a", Routing: true),
                new InformerChange("shop", "a", Routing: true),
            }));
            Assert.That(fresh, Is.EqualTo(version), "a status-only update still updates the informer's object");
            Assert.That(informer.Objects, Is.Empty);
        });

        int Count()
        {
            lock (changes)
            {
                return changes.Count;
            }
        }

        static JsonObject Sandbox(string name, string fork) => new()
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "Sandbox",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["forks"] = new JsonArray(new JsonObject { ["of"] = new JsonObject { ["name"] = fork } }) },
        };
    }

    [Test]
    public async Task LargeLists_AreReadInPages_EveryObjectArrives_AndTheWatchStartsFromTheFirstPagesVersion()
    {
        await using var api = await FakeApiServer.StartAsync();
        var count = (ResourceSources.ListPageSize * 2) + 1;
        for (var i = 0; i < count; i++)
        {
            api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", $"svc-{i:D4}"));
            api.Put(FakeApiServer.Sandboxes, new JsonObject
            {
                ["apiVersion"] = "sandboxctl.io/v1alpha1",
                ["kind"] = "Sandbox",
                ["metadata"] = new JsonObject { ["name"] = $"sb-{i:D4}", ["namespace"] = "shop" },
                ["spec"] = new JsonObject { ["routingKey"] = $"key-{i}" },
            });
        }

        using var client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() });
        var services = new ResourceInformer(ResourceSources.All(client, []).Single(s => s.Kind == "Service"), TimeProvider.System, NullLogger.Instance, new Random(1));
        var sandboxes = new ResourceInformer(ResourceSources.Sandboxes(client, null), TimeProvider.System, NullLogger.Instance, new Random(1));
        using var stop = new CancellationTokenSource();
        var running = Task.WhenAll(services.RunAsync(stop.Token), sandboxes.RunAsync(stop.Token));
        await Eventually.WaitAsync(() => services.HasSynced && sandboxes.HasSynced && api.OpenWatches == 2, "both lists and their watches");
        var listedAt = services.ResourceVersion;
        api.Put(FakeApiServer.Sandboxes, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "Sandbox",
            ["metadata"] = new JsonObject { ["name"] = "after-the-list", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["routingKey"] = "later" },
        });
        await Eventually.WaitAsync(() => sandboxes.Objects.Count == count + 1, "the Sandbox created after the list, from the watch");
        await stop.CancelAsync();
        await running;

        Assert.Multiple(() =>
        {
            Assert.That(services.Objects.Select(o => o.Resource.Metadata.Name), Is.EquivalentTo(Enumerable.Range(0, count).Select(i => $"svc-{i:D4}")));
            Assert.That(sandboxes.Objects.Select(o => o.Resource.Metadata.Name), Has.Member("sb-0000").And.Member($"sb-{count - 1:D4}").And.Member("after-the-list"));
            Assert.That(api.ContinuedListPages, Is.EqualTo(4), "two pages after the first, for each kind");
            Assert.That(api.ListRequests, Has.Exactly(1).EqualTo(FakeApiServer.Services).And.Exactly(1).EqualTo(FakeApiServer.Sandboxes));
            Assert.That(api.WatchesOf(FakeApiServer.Services), Is.EqualTo(new[] { listedAt }), "the watch continues from the list's version");
            Assert.That(services.Problems, Is.Empty);
        });
    }
}
