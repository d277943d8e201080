using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using XdsControlPlane.Server;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// The server in Kubernetes mode against an API server that misbehaves (the fake API server's injected faults): watches
/// cut mid-stream, 410 Gone, stalls, 500s and 429s with Retry-After on lists, watches and status writes. Nothing the
/// cluster says is lost (the published state ends equal to a fresh server's), no snapshot is published twice, status
/// writes are retried with backoff and wait what the API server asked for, and an outage is one Warning, not one per
/// retry. Each test prints its figures.
/// </summary>
[NonParallelizable]
public sealed class ApiServerFaultTests
{
    private const int ListedEvent = 3000;
    private const int WatchFailedEvent = 3002;
    private const int StatusWritesFailingEvent = 3202;
    private const int StatusWritesRecoveredEvent = 3204;
    private static readonly string[] Groups = ["gateway", "sidecar", "grpc"];
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private HostLog _log = new();
    private FakeApiServer _api = null!;

    [SetUp]
    public async Task StartApiAsync()
    {
        _log = new HostLog();
        _api = await FakeApiServer.StartAsync();
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart-v2"));
        _api.Put(FakeApiServer.EndpointSlices, Slice("cart", "10.0.0.1"));
        _api.Put(FakeApiServer.RouteGroups, Group("first", "cart-v2"));
    }

    [TearDown]
    public async Task StopApiAsync() => await _api.DisposeAsync();

    [Test]
    public async Task StatusWrites_500sThenA429WithRetryAfter_RetriedWithBackoff_WaitingWhatWasAsked_OneWarning()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        const string Path = "/routegroups/first/status";
        _api.FailNext(ApiRequestKind.StatusWrite, Path, times: 3, statusCode: 500);
        _api.FailNext(ApiRequestKind.StatusWrite, Path, times: 1, statusCode: 429, retryAfterSeconds: 2);
        _log.Expect("Status writes fail");
        await using var host = await StartAsync(_log, cancel.Token);

        await Eventually.WaitAsync(() => _api.Get(FakeApiServer.RouteGroups, "shop", "first")?["status"]?["conditions"] is JsonArray { Count: > 0 }, "the RouteGroup's status to be written", cancel.Token);
        await Eventually.WaitAsync(() => _log.Events.Any(e => e.EventId == StatusWritesRecoveredEvent), "the end of the outage to be said", cancel.Token);
        var attempts = _api.KindRequests().Where(r => r.Kind == ApiRequestKind.StatusWrite && r.Path.EndsWith(Path, StringComparison.Ordinal)).Select(r => r.At).ToArray();
        var gaps = attempts.Zip(attempts.Skip(1), (a, b) => b - a).ToArray();
        await TestContext.Out.WriteLineAsync($"status write attempts: {attempts.Length}; gaps between them: {string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:F0} ms"))}");

        Assert.Multiple(() =>
        {
            Assert.That(attempts, Has.Length.EqualTo(5), "three 500s, one 429, then the write that went through");
            Assert.That(gaps[0], Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(45)), "backoff after the first failure (50 ms)");
            Assert.That(gaps[1], Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(90)), "doubled (100 ms)");
            Assert.That(gaps[2], Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(180)), "doubled (200 ms)");
            Assert.That(gaps[3], Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(1.9)), "the 2 s the 429's Retry-After asked for, longer than the backoff");
            Assert.That(_log.Events.Count(e => e.EventId == StatusWritesFailingEvent), Is.EqualTo(1), "the outage is one Warning, not one per retry");
            Assert.That(_log.Events.Count(e => e.EventId == StatusWritesRecoveredEvent), Is.EqualTo(1), "and its end is said once");
        });
        await host.StopAsync(cancel.Token);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task WatchCutGoneStallsAnd500sAnd429s_NoEditLost_StateEqualsAFreshServers_NothingPublishedTwice()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        _log.Expect("list/watch failed");
        await using var host = await StartAsync(_log, cancel.Token);
        await Eventually.WaitAsync(() => Groups.All(g => host.Snapshots.GetSnapshot(g) is not null), "the first publication", cancel.Token);
        var published = new ConcurrentDictionary<string, ConcurrentQueue<string>>();
        var watches = Groups.Select(g => host.Snapshots.Watch(g, () => published.GetOrAdd(g, _ => new()).Enqueue(host.Snapshots.GetSnapshot(g)!.Snapshot.Version))).ToArray();
        var started = DateTimeOffset.UtcNow;

        // A watch cut mid-stream, with an edit behind it.
        _api.CutWatches();
        _api.Put(FakeApiServer.RouteGroups, Group("second", "cart-v2"));

        // 410 Gone (history compacted), then 500s on the next RouteGroup watches and a 429 with Retry-After on the next Service list.
        _api.FailNext(ApiRequestKind.Watch, FakeApiServer.RouteGroups, times: 2, statusCode: 500);
        _api.FailNext(ApiRequestKind.List, FakeApiServer.Services, times: 1, statusCode: 429, retryAfterSeconds: 3);
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "orders"));
        _api.Put(FakeApiServer.EndpointSlices, Slice("cart", "10.0.0.2"));
        _api.Compact();
        _api.CutWatches();

        // Stalls (short here; the stall is the test's to set) on the next EndpointSlice watch and RouteGroup list, and more edits.
        _api.StallNext(ApiRequestKind.Watch, FakeApiServer.EndpointSlices, times: 1, TimeSpan.FromSeconds(1));
        _api.StallNext(ApiRequestKind.List, FakeApiServer.RouteGroups, times: 1, TimeSpan.FromSeconds(1));
        _api.Delete(FakeApiServer.RouteGroups, "shop", "first");
        _api.Put(FakeApiServer.RouteGroups, Group("third", "orders"));
        _api.Put(FakeApiServer.EndpointSlices, Slice("orders", "10.0.0.3"));
        _api.Compact();
        _api.CutWatches();
        var lastEdit = DateTimeOffset.UtcNow;

        // A fresh server on the same API server, once every fault has hit the faulted one, says what the published state must be.
        await Eventually.WaitAsync(() => _api.Faulted().Length == 5, "every injected fault to hit", cancel.Token);
        var throttled = _api.Faulted().Single(f => f.StatusCode == 429).At;
        await Eventually.WaitAsync(() => NextServiceList(throttled) is not null, "the Service list to be retried after its 429", cancel.Token);
        var nextServiceList = NextServiceList(throttled)!.Value;
        var freshLog = new HostLog();
        // Its own replica identity: two servers in one test process would otherwise share one (machine and process id)
        // and so one ACK Lease, which each would then find modified by the other.
        await using var fresh = await StartAsync(freshLog, cancel.Token, replica: "fresh-replica");
        await Eventually.WaitAsync(() => Groups.All(g => fresh.Snapshots.GetSnapshot(g) is not null), "the fresh server's first publication", cancel.Token);
        await Eventually.WaitAsync(
            () => Groups.All(g => host.Snapshots.GetSnapshot(g)!.Snapshot.Version == fresh.Snapshots.GetSnapshot(g)!.Snapshot.Version),
            "the faulted server to publish what a fresh one does",
            cancel.Token);
        var converged = DateTimeOffset.UtcNow;

        // Status is written after the publication it reports on (the pipeline's observers only take note and return; the
        // status workers write later): the newest RouteGroup's status can come after the convergence seen above.
        await Eventually.WaitAsync(() => _api.Get(FakeApiServer.RouteGroups, "shop", "third")?["status"]?["conditions"] is not null, "status to be written for the newest RouteGroup", cancel.Token);
        await fresh.StopAsync(cancel.Token);
        foreach (var watch in watches)
        {
            watch.Dispose();
        }

        var faulted = _api.Faulted();
        await TestContext.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"faults hit: {faulted.Length} ({string.Join(", ", faulted.Select(f => $"{f.Kind} {f.Path} {(f.StatusCode == 0 ? "stall" : f.StatusCode)}"))}); Service list retried {(nextServiceList - throttled).TotalSeconds:F1} s after its 429; converged {(converged - lastEdit).TotalSeconds:F1} s after the last edit ({(converged - started).TotalSeconds:F1} s after the first fault); snapshots published: {string.Join(", ", published.Select(p => $"{p.Key} {p.Value.Count}"))}"));
        Assert.Multiple(() =>
        {
            Assert.That(faulted.Count(f => f.StatusCode == 500), Is.EqualTo(2));
            Assert.That(faulted.Count(f => f.StatusCode == 429), Is.EqualTo(1));
            Assert.That(nextServiceList - throttled, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(2.8)), "the Service list waited the 3 s its 429 asked for (the backoff alone is about 1 s)");
            Assert.That(faulted.Count(f => f.StatusCode == 0), Is.EqualTo(2));
            foreach (var (group, versions) in published)
            {
                var list = versions.ToArray();
                Assert.That(list.Zip(list.Skip(1)).Where(p => p.First == p.Second), Is.Empty, $"{group}: a snapshot published twice in a row");
            }

            var warnings = _log.Events.Where(e => e.EventId == WatchFailedEvent).Select(e => e.Text).ToArray();
            Assert.That(warnings, Has.Length.LessThanOrEqualTo(3), () => "one Warning per outage of a kind's list/watch, not one per retry: " + string.Join("\n", warnings));
            Assert.That(_api.Get(FakeApiServer.RouteGroups, "shop", "third")?["status"]?["conditions"], Is.Not.Null, "status written for the newest RouteGroup");
        });
        await host.StopAsync(cancel.Token);
        _log.AssertNoUnexpectedWarnings();
        freshLog.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task ServicesListedAgainBehindA429_ARouteGroupNamingANewService_IsNotCalledBrokenMeanwhile()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        _log.Expect("list/watch failed");
        await using var host = await StartAsync(_log, cancel.Token);
        await Eventually.WaitAsync(() => Groups.All(g => host.Snapshots.GetSnapshot(g) is not null), "the first publication", cancel.Token);

        // The Service informer misses the new Service (its history compacted, so it must list again, and that list is
        // throttled for 2 s); the RouteGroup informer sees the RouteGroup that names it at once.
        await ServicesBehindAsync("orders", cancel.Token);
        _api.Put(FakeApiServer.RouteGroups, Group("third", "orders"));

        await Eventually.WaitAsync(() => ConditionStatus("third", "ResolvedRefs") == "True", "the RouteGroup's reference to be resolved once the Services are listed", cancel.Token);
        await host.StopAsync(cancel.Token);
        var events = _log.Events.ToArray();
        var relisted = Array.FindIndex(events, e => e.EventId == ListedEvent && e.Text.Contains("Service", StringComparison.Ordinal) && e.Text.StartsWith("Listed 3 ", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(_api.Faulted().Count(f => f.StatusCode == 429), Is.EqualTo(1), "the Service list was throttled, so the Services were behind the RouteGroups");
            Assert.That(relisted, Is.GreaterThan(0), "the Services were listed again, with the new one");
            Assert.That(events.Where(e => e.Text.Contains("does not exist", StringComparison.Ordinal)).Select(e => e.Text), Is.Empty,
                "a reference is not called broken while the kind it names is being listed again");
        });
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task ServicesListedAgainBehindA429_ARouteGroupNamingAServiceThatNeverCame_IsCalledBrokenOnceListed()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        _log.Expect("list/watch failed");
        _log.Expect("Service shop/ghost does not exist");
        await using var host = await StartAsync(_log, cancel.Token);
        await Eventually.WaitAsync(() => Groups.All(g => host.Snapshots.GetSnapshot(g) is not null), "the first publication", cancel.Token);

        await ServicesBehindAsync("orders", cancel.Token);
        _api.Put(FakeApiServer.RouteGroups, Group("third", "ghost"));

        await Eventually.WaitAsync(() => _log.Contains("Service shop/ghost does not exist"), "the broken reference to be logged", cancel.Token);
        await Eventually.WaitAsync(() => ConditionStatus("third", "ResolvedRefs") == "False", "the RouteGroup's status to say so", cancel.Token);
        await host.StopAsync(cancel.Token);
        var events = _log.Events.ToArray();
        var relisted = Array.FindIndex(events, e => e.EventId == ListedEvent && e.Text.Contains("Service", StringComparison.Ordinal) && e.Text.StartsWith("Listed 3 ", StringComparison.Ordinal));
        var broken = Array.FindIndex(events, e => e.Text.Contains("Service shop/ghost does not exist", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(relisted, Is.GreaterThan(0), "the Services were listed again");
            Assert.That(broken, Is.GreaterThan(relisted), "the broken reference is logged once the Services are listed, not while they are behind");
            Assert.That(events.Count(e => e.Text.Contains("Service shop/ghost does not exist", StringComparison.Ordinal)), Is.EqualTo(1), "and logged once");
        });
        _log.AssertNoUnexpectedWarnings();
    }

    /// <summary>
    /// Adds Service shop/<paramref name="service"/> where the server's Service informer cannot see it for a while: its
    /// watch is cut and the next one stalls until the history is compacted, so it must list again, and that list is
    /// answered 429 with Retry-After: 2. Returns once that 429 was given (the Services are behind from then on, for 2 s).
    /// </summary>
    private async Task ServicesBehindAsync(string service, CancellationToken cancellationToken)
    {
        _api.StallNext(ApiRequestKind.Watch, FakeApiServer.Services, times: 1, TimeSpan.FromSeconds(1));
        _api.FailNext(ApiRequestKind.List, FakeApiServer.Services, times: 1, statusCode: 429, retryAfterSeconds: 2);
        _api.CutWatches();
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", service));
        _api.Compact();
        await Eventually.WaitAsync(() => _api.Faulted().Any(f => f.StatusCode == 429), "the Service list to be throttled", cancellationToken);
    }

    /// <summary>The status of the condition <paramref name="type"/> of RouteGroup shop/<paramref name="name"/>, when written.</summary>
    private string? ConditionStatus(string name, string type) =>
        (_api.Get(FakeApiServer.RouteGroups, "shop", name)?["status"]?["conditions"] as JsonArray)?
            .FirstOrDefault(c => c?["type"]?.GetValue<string>() == type)?["status"]?.GetValue<string>();

    /// <summary>The first Service list after <paramref name="after"/> (before the fresh server starts, only the faulted one lists).</summary>
    private DateTimeOffset? NextServiceList(DateTimeOffset after) =>
        _api.KindRequests().Where(r => r.Kind == ApiRequestKind.List && r.Path == FakeApiServer.Services && r.At > after).Select(r => (DateTimeOffset?)r.At).FirstOrDefault();

    private async Task<ServerHost> StartAsync(HostLog log, CancellationToken cancellationToken, string? replica = null)
    {
        var server = new InProcessServer().WithLog(log).WithKubernetesApi(_api.Url);
        return await (replica is null ? server : server.With("Server:Replica", replica)).StartAsync(cancellationToken);
    }

    private static JsonObject Slice(string service, string address) => FakeApiServer.EndpointSliceObject("shop", service, 18080, address);

    private static JsonObject Group(string name, string to) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "RouteGroup",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject
        {
            ["routes"] = new JsonArray(new JsonObject { ["service"] = "cart", ["to"] = new JsonArray(new JsonObject { ["service"] = to }) }),
        },
    };
}
