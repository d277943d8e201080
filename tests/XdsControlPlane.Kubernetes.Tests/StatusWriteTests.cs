using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Prometheus;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// Status writes as background work: rate-limited by a client-side token bucket (on a fake clock here), skipped when
/// the object already says it, and none lost — the official KubernetesClient against the fake API server over HTTP.
/// </summary>
public sealed class StatusWriteTests
{
    private FakeApiServer _api = null!;
    private global::k8s.Kubernetes _client = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _api = await FakeApiServer.StartAsync();
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart-v2"));
        _client = new global::k8s.Kubernetes(new global::k8s.KubernetesClientConfiguration { Host = _api.Url.ToString() });
    }

    [TearDown]
    public async Task StopAsync()
    {
        _client.Dispose();
        await _api.DisposeAsync();
    }

    [Test]
    public async Task RateLimit_BurstThenOneWritePerToken_EveryObjectEndsWithItsStatus()
    {
        string[] names = [.. Enumerable.Range(0, 10).Select(i => $"group-{i}")];
        foreach (var name in names)
        {
            _api.Put(FakeApiServer.RouteGroups, Group(name, name));
        }

        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var registry = Metrics.NewCustomRegistry();
        var options = new KubernetesStatusOptions { StatusInterval = Timeout.InfiniteTimeSpan, StatusQps = 1, StatusBurst = 3, StatusConcurrency = 1 };
        await using var stack = await StatusStack.StartAsync(_client, clock, options, new ControllerMetrics(Metrics.WithCustomRegistry(registry)));

        // The burst goes at once; then the one worker waits for a token of the (fake) clock.
        await Eventually.WaitAsync(() => stack.Status.StatusWritesThrottled == 1, "a write waiting for its token");
        Assert.That(_api.StatusPatches, Has.Count.EqualTo(3), "the burst");

        // A newer desired status of an object still queued replaces the one it was queued for.
        var edited = names.First(n => Status(n) is null);
        var noted = stack.Status.Progress.Noted;
        _api.Put(FakeApiServer.RouteGroups, Group(edited, "edited"));
        await Eventually.WaitAsync(() => stack.Status.Progress.Noted > noted, "the edit published");

        for (var tokens = 1; tokens <= 7; tokens++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            var expected = 3 + tokens;
            await Eventually.WaitAsync(
                () => _api.StatusPatches.Count == expected && (stack.Status.StatusWritesThrottled == 1 || expected == names.Length),
                () => $"{expected} writes after {tokens} s, then a wait for the next token; {_api.StatusPatches.Count} writes");
        }

        await Eventually.WaitAsync(() => stack.Status.Progress is var (n, j) && j >= n && stack.Status.StatusQueued == 0, "every object judged");
        var scrape = await ScrapeAsync(registry);
        Assert.Multiple(() =>
        {
            Assert.That(_api.StatusPatches, Has.Count.EqualTo(names.Length), "one write per object: the edited one once, for its newest version");
            Assert.That(names.Where(n => (long?)Status(n)?["observedGeneration"] != (n == edited ? 2 : 1)), Is.Empty, "every object ends with the status of its version");
            Assert.That(Status(edited)!["conditions"]!.AsArray().Select(c => (string?)c!["status"]), Is.All.EqualTo("True"));
            Assert.That(scrape, Does.Contain("sandboxctl_status_writes_total{result=\"written\"} 10"));
            Assert.That(scrape, Does.Contain("sandboxctl_controller_queue_depth{controller=\"status\"} 0"));
        });
    }

    [Test]
    public async Task FirstPass_AnObjectCreatedMeanwhile_OvertakesTheBacklog()
    {
        foreach (var name in Enumerable.Range(0, 10).Select(i => $"group-{i}"))
        {
            _api.Put(FakeApiServer.RouteGroups, Group(name, name));
        }

        var clock = new FakeTimeProvider();
        var options = new KubernetesStatusOptions { StatusInterval = Timeout.InfiniteTimeSpan, StatusQps = 1, StatusBurst = 1, StatusConcurrency = 1 };
        await using var stack = await StatusStack.StartAsync(_client, clock, options, new ControllerMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())));
        await Eventually.WaitAsync(() => stack.Status.StatusWritesThrottled == 1, "the first status pass's second write waiting for its token");

        var noted = stack.Status.Progress.Noted;
        var waiting = stack.Status.StatusQueued; // the writer holds the second object while it waits for its token
        _api.Put(FakeApiServer.RouteGroups, Group("urgent", "urgent"));
        await Eventually.WaitAsync(() => stack.Status.Progress.Noted > noted, "the new RouteGroup published");
        // Published is not yet queued: the status worker moves it to the queue after the publication; a token given
        // before that would rightly go to the backlog.
        await Eventually.WaitAsync(() => stack.Status.StatusQueued == waiting + 1, () => $"the new RouteGroup queued for status ({stack.Status.StatusQueued} waiting, was {waiting})");
        for (var tokens = 1; Status("urgent") is null && tokens <= 10; tokens++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            var expected = 1 + tokens;
            await Eventually.WaitAsync(() => _api.StatusPatches.Count == expected && stack.Status.StatusWritesThrottled == 1, $"{expected} writes, then a wait for the next token");
        }

        // The backlog feeds the queue a few keys at a time (twice the workers: 2 here), and a publication of the first
        // pass (each one feeds the queue while it runs short) may have fed them before the new RouteGroup came: it is
        // written after the write that waited for a token and at most those two — not after the eight others. (Asserting
        // exactly the next write failed one busy-core CI run: it came fourth, one fed key ahead of it.)
        Assert.That(_api.StatusPatches.FindIndex(p => p.Name == "shop/urgent"), Is.InRange(2, 4), "written within the two backlog keys already fed, not after the eight others of the first pass");
    }

    [Test]
    public async Task Restart_StatusAlreadyCurrent_WritesNothing()
    {
        string[] names = [.. Enumerable.Range(0, 5).Select(i => $"group-{i}")];
        foreach (var name in names)
        {
            _api.Put(FakeApiServer.RouteGroups, Group(name, name));
        }

        await using (var first = await StatusStack.StartAsync(_client, TimeProvider.System, new KubernetesStatusOptions(), new ControllerMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()))))
        {
            await Eventually.WaitAsync(() => names.All(n => Status(n) is not null), "every RouteGroup's first status");
            await Eventually.WaitAsync(() => first.Status.Progress is var (n, j) && j >= n && n > 0, "the first writer to settle");
        }

        // A new leader (or this one restarted) judges every object once: none needs a write.
        var writes = _api.StatusPatches.Count;
        var registry = Metrics.NewCustomRegistry();
        await using var second = await StatusStack.StartAsync(_client, TimeProvider.System, new KubernetesStatusOptions(), new ControllerMetrics(Metrics.WithCustomRegistry(registry)));
        await Eventually.WaitAsync(() => second.Status.Progress is var (n, j) && j >= n && n > 0, "the restarted writer's first pass judged");

        var scrape = await ScrapeAsync(registry);
        Assert.Multiple(() =>
        {
            Assert.That(_api.StatusPatches.Skip(writes).Select(p => p.Name), Is.Empty, "no PATCH: the stored status says it already");
            Assert.That(scrape, Does.Contain($"sandboxctl_status_writes_total{{result=\"skipped\"}} {names.Length}"));
        });
    }

    [Test]
    public async Task OwnWrite_TheVersionItProduced_IsKnownAsOursOnce_AndNeedsNoFurtherWrite()
    {
        _api.Put(FakeApiServer.RouteGroups, Group("first", "first"));
        var obj = ManifestReader.Read(_api.Get(FakeApiServer.RouteGroups, "shop", "first")!, "test").Objects.Single();
        var basis = new StatusBasis(new Dictionary<ResourceKey, ManifestObject> { [obj.Resource.Key] = obj }, new Dictionary<ResourceKey, ManifestProblem[]>());
        var writer = new RoutingStatusWriter(_client, TimeProvider.System, FieldManagers.ControlPlane);

        var write = writer.Judge(obj.Resource, basis, acked: true);
        Assert.That(await writer.SendAsync(write!, CancellationToken.None), Is.EqualTo(StatusWriteResult.Written));
        var written = ManifestReader.Read(_api.Get(FakeApiServer.RouteGroups, "shop", "first")!, "test").Objects.Single().Resource;

        Assert.Multiple(() =>
        {
            Assert.That(writer.IsOwnWrite(obj.Resource.Key, obj.Resource.Metadata.ResourceVersion), Is.False, "the version before the write is not ours");
            Assert.That(writer.IsOwnWrite(obj.Resource.Key, written.Metadata.ResourceVersion), Is.True, "the watch event of our write");
            Assert.That(writer.IsOwnWrite(obj.Resource.Key, written.Metadata.ResourceVersion), Is.False, "known once");
            Assert.That(writer.Judge(written, basis, acked: true), Is.Null, "the written version says it already");
        });
    }

    [Test]
    public async Task LocalWorkloadPreviews_StatusListsUrlAndAccess_WithThePhaseTheBrokerWrote()
    {
        _api.Put(FakeApiServer.LocalWorkloads, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "LocalWorkload",
            ["metadata"] = new JsonObject { ["name"] = "alice", ["namespace"] = "shop" },
            ["spec"] = new JsonObject
            {
                ["routingKey"] = "alice",
                ["service"] = "cart",
                ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }),
                ["previews"] = new JsonArray(new JsonObject { ["port"] = 8080, ["access"] = "shared" }),
            },
        });
        var options = new KubernetesStatusOptions { PreviewDomain = "preview.example.com", PreviewSalt = "salt" };

        await using var stack = await StatusStack.StartAsync(_client, TimeProvider.System, options, new ControllerMetrics(Metrics.WithCustomRegistry(Metrics.NewCustomRegistry())));

        await Eventually.WaitAsync(() => _api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")?["status"]?["previews"]?.AsArray().Count == 1, "the preview in the status");
        var preview = _api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")!["status"]!["previews"]![0]!;
        Assert.That(((string?)preview["service"], (int?)preview["port"], (string?)preview["url"], (string?)preview["access"]), Is.EqualTo((
            "cart", (int?)8080, "https://" + PreviewHostNames.Host(LocalWorkload.KindName, "shop", "alice", "cart", 8080, "salt", "preview.example.com") + "/", "shared")));
        var written = ManifestReader.Read(_api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")!, "test").Objects.Single();
        var basis = new StatusBasis(new Dictionary<ResourceKey, ManifestObject> { [written.Resource.Key] = written }, new Dictionary<ResourceKey, ManifestProblem[]>());
        var writer = new RoutingStatusWriter(_client, TimeProvider.System, FieldManagers.ControlPlane) { PreviewDomain = "preview.example.com", PreviewSalt = "salt" };
        Assert.That(writer.Judge(written.Resource, basis, acked: true), Is.Null, "the written status says it already: no further write");
    }

    private JsonNode? Status(string name) => _api.Get(FakeApiServer.RouteGroups, "shop", name)?["status"];

    private static async Task<string> ScrapeAsync(CollectorRegistry registry)
    {
        using var scrape = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(scrape);
        return Encoding.UTF8.GetString(scrape.ToArray());
    }

    /// <summary>A RouteGroup in <c>shop</c> sending <c>cart</c>'s requests with <paramref name="routingKey"/> to <c>cart-v2</c>.</summary>
    internal static JsonObject Group(string name, string routingKey) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "RouteGroup",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject
        {
            ["routingKey"] = routingKey,
            ["routes"] = new JsonArray(new JsonObject { ["service"] = "cart", ["to"] = new JsonArray(new JsonObject { ["service"] = "cart-v2", ["weight"] = 100 }) }),
        },
    };

    /// <summary>The source, the pipeline on the system clock, and the status writer on <c>clock</c>: so a fake clock drives only the rate limit.</summary>
    private sealed class StatusStack : IAsyncDisposable
    {
        private readonly SourcePipeline _pipeline;
        private readonly KubernetesSource _source;

        private StatusStack(global::k8s.IKubernetes client, TimeProvider clock, KubernetesStatusOptions options, ControllerMetrics metrics)
        {
            var informers = new KubernetesInformers(TimeProvider.System, NullLogger.Instance);
            _pipeline = new SourcePipeline(new NoPublisher(), new RoutingInputsStore(), TimeProvider.System, NullLogger<SourcePipeline>.Instance, new SourcePipelineOptions { Debounce = TimeSpan.FromMilliseconds(20), MaxDebounce = TimeSpan.FromMilliseconds(20) });
            _source = new KubernetesSource(client, _pipeline.Register("kubernetes"), informers);
            Status = new KubernetesStatusService(client, informers, _pipeline, clock, NullLogger<KubernetesStatusService>.Instance, options, metrics: metrics);
        }

        public KubernetesStatusService Status { get; }

        public static async Task<StatusStack> StartAsync(global::k8s.IKubernetes client, TimeProvider clock, KubernetesStatusOptions options, ControllerMetrics metrics)
        {
            var stack = new StatusStack(client, clock, options, metrics);
            await stack._pipeline.StartAsync(CancellationToken.None);
            await stack.Status.StartAsync(CancellationToken.None);
            await stack._source.StartAsync(CancellationToken.None);
            return stack;
        }

        public async ValueTask DisposeAsync()
        {
            await _source.StopAsync(CancellationToken.None);
            await Status.StopAsync(CancellationToken.None);
            await _pipeline.StopAsync(CancellationToken.None);
            _source.Dispose();
            Status.Dispose();
            _pipeline.Dispose();
        }

        private sealed class NoPublisher : IRoutingPublisher
        {
            public IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs) => [];
        }
    }
}
