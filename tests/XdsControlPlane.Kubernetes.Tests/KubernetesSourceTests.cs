using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>The Kubernetes source: the official KubernetesClient against the fake API server over HTTP.</summary>
public sealed class KubernetesSourceTests
{
    private readonly HostLog _log = new();

    private FakeApiServer _api = null!;
    private KubernetesRoutingHarness _source = null!;
    private global::k8s.Kubernetes _client = null!;
    private readonly List<RoutingInputs> _history = [];
    private RoutingInputs? _published;
    private int _publications;
    private volatile bool _acked = true;

    [SetUp]
    public async Task StartAsync()
    {
        _log.Clear();
        _api = await FakeApiServer.StartAsync();
        _api.Put(FakeApiServer.Services, Service("cart"));
        _api.Put(FakeApiServer.Services, Service("cart-v2"));
        _api.Put(FakeApiServer.EndpointSlices, Slice("cart", "10.0.0.1"));
        _api.Put(FakeApiServer.RouteGroups, Group("first", weight: 100));
        _client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url.ToString() });
        _source = new KubernetesRoutingHarness(_client, inputs =>
        {
            Volatile.Write(ref _published, inputs);
            Interlocked.Increment(ref _publications);
            lock (_history)
            {
                _history.Add(inputs);
            }

            return [];
        }, TimeProvider.System, NullLogger<KubernetesSource>.Instance, new KubernetesRoutingOptions { Debounce = TimeSpan.FromMilliseconds(20), StatusInterval = TimeSpan.FromMilliseconds(50) }, () => _acked);
        await _source.StartAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => _source.HasSynced && _api.OpenWatches == 5, "the first publication and five open watches");

        // The first status write moves the RouteGroups' version: let the informer see it before a test starts.
        await Eventually.WaitAsync(
            () => _api.Get(FakeApiServer.RouteGroups, "shop", "first")?["status"] is not null
                && _source.ResourceVersions[RouteGroup.KindName] == (string?)_api.Get(FakeApiServer.RouteGroups, "shop", "first")!["metadata"]!["resourceVersion"],
            "the first status write to be seen");
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _source.StopAsync(CancellationToken.None);
        _source.Dispose();
        _client.Dispose();
        await _api.DisposeAsync();
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task WatchNamespaces_ObjectsElsewhereAreNeitherReadNorWritten()
    {
        var elsewhere = Group("elsewhere", weight: 100);
        elsewhere["metadata"]!["namespace"] = "other";
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("other", "cart"));
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("other", "cart-v2"));
        _api.Put(FakeApiServer.RouteGroups, elsewhere);
        RoutingInputs? published = null;
        using var source = new KubernetesRoutingHarness(_client, inputs =>
        {
            Volatile.Write(ref published, inputs);
            return [];
        }, TimeProvider.System, NullLogger<KubernetesSource>.Instance, new KubernetesRoutingOptions { Debounce = TimeSpan.FromMilliseconds(20), Namespaces = ["shop"] });
        await source.StartAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => source.HasSynced, "the scoped source's first publication");

        _api.Put(FakeApiServer.RouteGroups, Group("second", weight: 100));
        await Eventually.WaitAsync(() => Volatile.Read(ref published)!.RouteGroups.Any(g => g.Metadata.Name == "second"), "a change in the watched namespace");
        await source.StopAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(published!.RouteGroups.Select(g => g.Metadata.Namespace).Distinct(), Is.EqualTo(new[] { "shop" }));
            Assert.That(published.Services.Select(g => g.Metadata.Namespace).Distinct(), Is.EqualTo(new[] { "shop" }));
            Assert.That(source.Lists.Keys, Does.Contain("RouteGroup in shop"));
        });
    }

    [Test]
    public async Task Start_TheLastKindToListIsEmpty_StillPublishes()
    {
        await using var api = await FakeApiServer.StartAsync();
        api.Put(FakeApiServer.Services, Service("cart"));
        var release = new TaskCompletionSource();
        api.HoldLists(FakeApiServer.LocalWorkloads, release.Task);
        using var client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = api.Url.ToString() });
        RoutingInputs? published = null;
        using var source = new KubernetesRoutingHarness(client, inputs =>
        {
            Volatile.Write(ref published, inputs);
            return [];
        }, TimeProvider.System, NullLogger<KubernetesSource>.Instance, new KubernetesRoutingOptions { Debounce = TimeSpan.FromMilliseconds(20) });
        await source.StartAsync(CancellationToken.None);

        // Every other kind has listed and its debounce has passed; then the held kind lists, and finds nothing.
        await Eventually.WaitAsync(() => source.Lists.Count(l => l.Value > 0) == 4, "the other four kinds to list");
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        release.SetResult();
        await Eventually.WaitAsync(() => source.HasSynced, "the first publication once the empty kind listed");
        await source.StopAsync(CancellationToken.None);

        Assert.That(Volatile.Read(ref published)!.Services.Select(s => s.Metadata.Name), Is.EqualTo(new[] { "cart" }));
    }

    [Test]
    public void Start_ListsEveryKindAndPublishesTheObjects()
    {
        var inputs = Volatile.Read(ref _published)!;
        Assert.Multiple(() =>
        {
            Assert.That(inputs.Services.Select(s => s.Metadata.Name), Is.EqualTo(new[] { "cart", "cart-v2" }));
            Assert.That(inputs.SlicesOf("shop", "cart").Single().Endpoints.Single().Addresses, Is.EqualTo(new[] { "10.0.0.1" }));
            Assert.That(inputs.RouteGroups.Single().Metadata.Name, Is.EqualTo("first"));
            Assert.That(_api.ListRequests, Has.Count.EqualTo(5));
        });
    }

    [Test]
    public async Task Watch_NewAndDeletedRouteGroup_Published()
    {
        _api.Put(FakeApiServer.RouteGroups, Group("second", weight: 100));
        await Eventually.WaitAsync(() => Names().SequenceEqual(["first", "second"]), "the new RouteGroup");
        _api.Delete(FakeApiServer.RouteGroups, "shop", "first");
        await Eventually.WaitAsync(() => Names().SequenceEqual(["second"]), "the deletion");
    }

    [Test]
    public async Task WatchCutMidway_ResumesFromLastVersionWithoutRelistOrLoss()
    {
        var watchesBefore = _api.WatchRequests.Count(w => w.Path == FakeApiServer.RouteGroups);
        var lastVersion = _source.ResourceVersions[RouteGroup.KindName];
        _api.CutWatches();
        _api.Put(FakeApiServer.RouteGroups, Group("during-the-cut", weight: 100));

        await Eventually.WaitAsync(() => Names().Contains("during-the-cut"), "the RouteGroup created while the watch was down");

        var resumed = _api.WatchRequests.Where(w => w.Path == FakeApiServer.RouteGroups).Skip(watchesBefore).First();
        Assert.Multiple(() =>
        {
            Assert.That(resumed.ResourceVersion, Is.EqualTo(lastVersion), "resumed from the version it had seen");
            Assert.That(_source.Lists[RouteGroup.KindName], Is.EqualTo(1), "no relist");
            Assert.That(Names(), Is.EqualTo(new[] { "during-the-cut", "first" }));
        });
    }

    [Test]
    public async Task Bookmark_AdvancesTheVersionTheNextWatchStartsFrom()
    {
        _api.Put(FakeApiServer.Services, Service("other"));   // moves the global version past the RouteGroups' last event
        await Eventually.WaitAsync(() => Volatile.Read(ref _published)!.Services.Count == 3, "the new Service");
        var current = _api.CurrentVersion;
        Assert.That(_source.ResourceVersions[RouteGroup.KindName], Is.Not.EqualTo(current));

        _api.Bookmark();
        await Eventually.WaitAsync(() => _source.ResourceVersions[RouteGroup.KindName] == current, "the bookmark");
        var watchesBefore = _api.WatchRequests.Count(w => w.Path == FakeApiServer.RouteGroups);
        _api.CutWatches();

        await Eventually.WaitAsync(() => _api.WatchRequests.Count(w => w.Path == FakeApiServer.RouteGroups) > watchesBefore, "the RouteGroup watch to resume");
        Assert.That(_api.WatchRequests.Where(w => w.Path == FakeApiServer.RouteGroups).Last().ResourceVersion, Is.EqualTo(current));
    }

    [TestCase(false, TestName = "Gone_AsAnErrorEvent_RelistsAndPicksUpWhatChanged")]
    [TestCase(true, TestName = "Gone_AsHttpStatus410_RelistsAndPicksUpWhatChanged")]
    public async Task Gone_RelistsAndPicksUpWhatChanged(bool asHttpStatus)
    {
        _api.GoneAsHttpStatus = asHttpStatus;
        _api.Put(FakeApiServer.RouteGroups, Group("seen-live", weight: 100));
        await Eventually.WaitAsync(() => Names().Contains("seen-live"), "the live RouteGroup");
        _api.Put(FakeApiServer.Services, Service("moves-the-version"));   // the RouteGroup watch is now behind
        _api.Compact();
        _api.CutWatches();
        _api.Put(FakeApiServer.RouteGroups, Group("after-the-cut", weight: 100));

        await Eventually.WaitAsync(() => Names().SequenceEqual(["after-the-cut", "first", "seen-live"]), "the relisted RouteGroups");
        Assert.That(_source.Lists[RouteGroup.KindName], Is.EqualTo(2), "listed again after 410 Gone");
    }

    [Test]
    public async Task InvalidRouteGroup_LeftOutOthersKeepRouting()
    {
        _api.Put(FakeApiServer.RouteGroups, Group("broken", weight: 90));
        _api.Put(FakeApiServer.RouteGroups, Group("fine", weight: 100));

        await Eventually.WaitAsync(() => Names().Contains("fine"), "the valid RouteGroup");
        Assert.That(Names(), Is.EqualTo(new[] { "fine", "first" }));
    }

    /// <summary>The source and the Sandbox controller share one informer per kind: each kind is listed and watched once per process.</summary>
    [Test]
    public async Task ServerHost_WithKubernetes_WatchesEachKindOnce()
    {
        await _source.StopAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => _api.OpenWatches == 0, "the standalone source's watches to close");
        string[] paths = [FakeApiServer.Services, FakeApiServer.EndpointSlices, FakeApiServer.RouteGroups, FakeApiServer.Sandboxes, FakeApiServer.LocalWorkloads, FakeApiServer.Deployments, FakeApiServer.PreviewGrants];
        var listsBefore = paths.ToDictionary(p => p, p => _api.ListRequests.Count(l => l == p));
        var watchesBefore = paths.ToDictionary(p => p, p => _api.WatchRequests.Count(w => w.Path == p));
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        await using var host = await StartHostAsync(cancel.Token);
        await Eventually.WaitAsync(() => paths.All(p => _api.WatchRequests.Count(w => w.Path == p) > watchesBefore[p]), "a watch of every kind");
        await Eventually.WaitAsync(() => host.Snapshots.Groups.Count > 0, "the first publication");

        Assert.Multiple(() =>
        {
            foreach (var path in paths)
            {
                Assert.That(_api.WatchRequests.Count(w => w.Path == path) - watchesBefore[path], Is.EqualTo(1), $"watches of {path}");
                Assert.That(_api.ListRequests.Count(l => l == path) - listsBefore[path], Is.EqualTo(1), $"lists of {path}");
            }

            Assert.That(_api.OpenWatches, Is.EqualTo(paths.Length));
        });
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task ServerHost_WithKubernetes_ServesTheClustersRoutes()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await using var host = await StartHostAsync(cancel.Token);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };
        await Eventually.WaitAsync(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, "readiness");

        _api.Put(FakeApiServer.RouteGroups, Group("second", weight: 100));
        await Eventually.WaitAsync(
            async () => (await http.GetStringAsync(new Uri("/debug/snapshot?group=grpc", UriKind.Relative))).Contains("second|RouteGroup/shop/second#0", StringComparison.Ordinal),
            "the new RouteGroup's route in the grpc snapshot");
        var snapshot = JsonNode.Parse(await http.GetStringAsync(new Uri("/debug/snapshot?group=grpc&resources=false", UriKind.Relative), cancel.Token))!;

        Assert.That(snapshot["groups"]!["grpc"]!["resources"]!["LDS"]!.AsObject().Select(l => l.Key), Does.Contain("cart.shop:8080"));
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task ServerHost_Sandbox_IsForkedAndItsKeyRoutedToTheFork_ThenReadyAndProgrammed()
    {
        await _source.StopAsync(CancellationToken.None);   // one status writer: the host's
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var cart = Service("cart");
        cart["spec"]!["selector"] = new JsonObject { ["app"] = "cart" };
        _api.Put(FakeApiServer.Services, cart);
        _api.Put(FakeApiServer.Deployments, FakeApiServer.DeploymentObject("shop", "cart", "cart:1"));
        await using var host = await StartHostAsync(cancel.Token);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };

        var sandbox = Sandbox("feature-x", ttl: "2h");
        sandbox["spec"]!["routingKey"] = "feature-x";
        _api.Put(FakeApiServer.Sandboxes, sandbox);

        // The controller forks cart; the translator routes the Sandbox's key for cart to the fork's cluster.
        await Eventually.WaitAsync(
            async () => (await http.GetStringAsync(new Uri("/debug/snapshot?group=gateway", UriKind.Relative))) is var json
                && (JsonNode.Parse(json)?["groups"]?["gateway"]?["resources"]?["RDS"]?.ToJsonString() ?? "").Contains("outbound|8080||cart-feature-x.shop.svc.cluster.local", StringComparison.Ordinal),
            "a gateway route to the fork's cluster");
        _api.SetDeploymentReady("shop", "cart-feature-x", ready: true);

        var conditions = await ConditionsAsync(FakeApiServer.Sandboxes, "feature-x", c => c.Count == 4 && c.All(x => x.Status == "True"));
        Assert.Multiple(() =>
        {
            Assert.That(conditions.Select(c => c.Type), Is.EquivalentTo(new[] { "Ready", "Accepted", "ResolvedRefs", "Programmed" }));
            Assert.That((string?)_api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!["status"]!["phase"], Is.EqualTo("Ready"));
        });
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task Status_ValidRouteGroup_AllConditionsTrueForItsGeneration()
    {
        var conditions = await ConditionsAsync("first", c => c.Count == 3);

        Assert.Multiple(() =>
        {
            Assert.That(conditions.Select(c => (c.Type, c.Status, c.Reason)), Is.EqualTo(new[] { ("Accepted", "True", "Accepted"), ("ResolvedRefs", "True", "ResolvedRefs"), ("Programmed", "True", "Programmed") }));
            Assert.That(conditions.Select(c => c.ObservedGeneration), Is.All.EqualTo(1));
            Assert.That((long?)_api.Get(FakeApiServer.RouteGroups, "shop", "first")!["status"]!["observedGeneration"], Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Status_InvalidRouteGroup_AcceptedFalseWithFieldPath()
    {
        _api.Put(FakeApiServer.RouteGroups, Group("broken", weight: 90));

        var conditions = await ConditionsAsync("broken", c => c.Count == 3);

        Assert.Multiple(() =>
        {
            Assert.That(conditions[0], Is.EqualTo(conditions[0] with { Type = "Accepted", Status = "False", Reason = "Invalid", Message = "spec.routes[0].to: weights must sum to 100, got 90" }));
            Assert.That((conditions[2].Status, conditions[2].Reason), Is.EqualTo(("False", "NotAccepted")));
        });
    }

    [Test]
    public async Task Status_MissingService_ResolvedRefsFalse()
    {
        var group = Group("dangling", weight: 100);
        group["spec"]!["routes"]![0]!["to"]![0]!["service"] = "nope";
        _api.Put(FakeApiServer.RouteGroups, group);

        var conditions = await ConditionsAsync("dangling", c => c.Count == 3);

        Assert.Multiple(() =>
        {
            Assert.That((conditions[0].Type, conditions[0].Status), Is.EqualTo(("Accepted", "True")));
            Assert.That(conditions[1], Is.EqualTo(conditions[1] with { Type = "ResolvedRefs", Status = "False", Reason = "RefNotFound", Message = "spec.routes[0].to[0].service: Service shop/nope does not exist" }));
        });
    }

    /// <summary>
    /// A tenant in namespace aaa routes shop's cart with a key of its own choosing: refused until shop's Service allows
    /// aaa, and refused again the moment that grant is withdrawn (its routes leave the snapshot; no last good version).
    /// </summary>
    [Test]
    public async Task Status_OtherNamespacesService_RefusedUntilAllowedAndAgainWhenTheGrantIsWithdrawn()
    {
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("aaa", "evil"));
        var takeover = Group("takeover", weight: 100);
        takeover["metadata"]!["namespace"] = "aaa";
        takeover["spec"]!["routes"] = new JsonArray(new JsonObject { ["service"] = "cart.shop", ["to"] = new JsonArray(new JsonObject { ["service"] = "evil" }) });
        _api.Put(FakeApiServer.RouteGroups, takeover);
        string? ResolvedRefs() => _api.Get(FakeApiServer.RouteGroups, "aaa", "takeover")?["status"]?["conditions"]?.AsArray()
            .FirstOrDefault(c => (string?)c!["type"] == "ResolvedRefs") is { } c ? $"{c["status"]} {c["reason"]}: {c["message"]}" : null;
        bool Routed() => new XdsControlPlane.Translation.RoutingTranslator().Translate(Volatile.Read(ref _published)!).Groups["grpc"]
            .Select(r => r.Message).OfType<global::Envoy.Config.Route.V3.RouteConfiguration>()
            .Where(c => c.Name == "cart.shop.svc.cluster.local:8080")
            .Any(c => c.VirtualHosts.SelectMany(h => h.Routes).Any(r => r.Route_?.Cluster == "outbound|8080||evil.aaa.svc.cluster.local"));

        await Eventually.WaitAsync(() => ResolvedRefs()?.StartsWith("False", StringComparison.Ordinal) == true, () => $"the refusal in status; last seen {ResolvedRefs()}");
        var refused = ResolvedRefs();
        var routedWhileRefused = Routed();

        var cart = Service("cart");
        cart["metadata"]!["annotations"] = new JsonObject { ["sandboxctl.io/allow-routes-from"] = "aaa" };
        _api.Put(FakeApiServer.Services, cart);
        await Eventually.WaitAsync(() => ResolvedRefs()?.StartsWith("True", StringComparison.Ordinal) == true && Routed(), () => $"the grant to take effect; last seen {ResolvedRefs()}");

        _api.Put(FakeApiServer.Services, Service("cart"));
        await Eventually.WaitAsync(() => ResolvedRefs()?.StartsWith("False", StringComparison.Ordinal) == true && !Routed(), () => $"the withdrawal to take effect; last seen {ResolvedRefs()}");

        Assert.Multiple(() =>
        {
            Assert.That(refused, Is.EqualTo("False RefNotPermitted: spec.routes[0].service: Service shop/cart does not allow routes from namespace aaa (its annotation sandboxctl.io/allow-routes-from must list aaa)"));
            Assert.That(routedWhileRefused, Is.False);
        });
    }

    [Test]
    public async Task Status_ProgrammedWaitsForAcks_AndNewGenerationIsObserved()
    {
        _acked = false;
        var edited = Group("first", weight: 100);
        edited["spec"]!["routingKey"] = "renamed";
        _api.Put(FakeApiServer.RouteGroups, edited);
        var pending = await ConditionsAsync("first", c => c.Count == 3 && c[2].ObservedGeneration == 2);
        Assert.That((pending[2].Status, pending[2].Reason), Is.EqualTo(("False", "Pending")));

        _acked = true;
        var programmed = await ConditionsAsync("first", c => c[2].Status == "True" && c[2].ObservedGeneration == 2);

        Assert.That(programmed[2].Reason, Is.EqualTo("Programmed"));
    }

    /// <summary>A tunnel status as the broker writes it: where the laptop is reached, and the last heartbeat.</summary>
    private static JsonObject Tunnel(string lastHeartbeat) => new()
    {
        ["replica"] = "replica-a",
        ["address"] = "10.0.0.9",
        ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080, ["brokerPort"] = 18100 }),
        ["connectedAt"] = lastHeartbeat,
        ["lastHeartbeat"] = lastHeartbeat,
    };

    [Test]
    public async Task LocalWorkload_PhaseFollowsHeartbeats_AndRoutesAreWithdrawnWhileDisconnected()
    {
        string Ago(int seconds) => DateTimeOffset.UtcNow.AddSeconds(-seconds).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        _api.Put(FakeApiServer.LocalWorkloads, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "LocalWorkload",
            ["metadata"] = new JsonObject { ["name"] = "alice", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["routingKey"] = "alice", ["service"] = "cart", ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }) },
            ["status"] = new JsonObject { ["tunnel"] = Tunnel(Ago(45)) },
        });

        await Eventually.WaitAsync(() => Phase() == "Disconnected" && Volatile.Read(ref _published)!.LocalWorkloads.SingleOrDefault()?.IsRoutable == false, "Disconnected after 30 s without a heartbeat");
        Assert.That(Translated().Any(r => r.Contains("local|8080||alice.shop", StringComparison.Ordinal)), Is.False, "no route to the laptop while disconnected");
        var withdrawn = await ConditionsAsync(FakeApiServer.LocalWorkloads, "alice", c => c.Count == 3 && c[2].Reason == "Disconnected");
        Assert.That(withdrawn[2].Message, Does.Contain("Routes withdrawn"));

        _api.PatchStatus(FakeApiServer.LocalWorkloads, "shop", "alice", new JsonObject { ["tunnel"] = new JsonObject { ["lastHeartbeat"] = Ago(0) } });

        await Eventually.WaitAsync(() => Phase() == "Connected" && Volatile.Read(ref _published)!.LocalWorkloads.Single().IsRoutable, "Connected after a heartbeat");
        Assert.That(Translated().Any(r => r.Contains("local|8080||alice.shop", StringComparison.Ordinal)), Is.True, "keyed requests reach the laptop again");
        await ConditionsAsync(FakeApiServer.LocalWorkloads, "alice", c => c.Count == 3 && c[2] is { Status: "True", Reason: "Programmed" });

        string? Phase() => (string?)_api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")?["status"]?["phase"];
    }

    [Test]
    public async Task Status_Sandboxes_GetRoutingConditions_KeepingTheControllersReadyCondition()
    {
        var fork = Service("cart-feature-x");
        fork["metadata"]!["labels"] = new JsonObject { ["sandboxctl.io/sandbox"] = "feature-x", ["sandboxctl.io/fork-of"] = "cart" };
        _api.Put(FakeApiServer.Services, fork);
        _api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", ttl: "2h"));
        _api.Put(FakeApiServer.Sandboxes, Sandbox("typo", ttl: "soon"));
        _api.PatchStatus(FakeApiServer.Sandboxes, "shop", "feature-x", new JsonObject
        {
            ["phase"] = "Ready",
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True", ["reason"] = "ForksReady" }),
        });

        var valid = await ConditionsAsync(FakeApiServer.Sandboxes, "feature-x", c => c.Count == 4 && c[3].Status == "True");
        var invalid = await ConditionsAsync(FakeApiServer.Sandboxes, "typo", c => c.Count == 3);

        Assert.Multiple(() =>
        {
            Assert.That(valid.Select(c => (c.Type, c.Status, c.Reason)), Is.EqualTo(new[] { ("Ready", "True", "ForksReady"), ("Accepted", "True", "Accepted"), ("ResolvedRefs", "True", "ResolvedRefs"), ("Programmed", "True", "Programmed") }));
            Assert.That(invalid[0], Is.EqualTo(invalid[0] with { Type = "Accepted", Status = "False", Reason = "Invalid", Message = "spec.ttl: must be a duration from 1s to 8760h such as 30m or 24h, got 'soon'" }));
            Assert.That((invalid[2].Status, invalid[2].Reason), Is.EqualTo(("False", "NotAccepted")));
        });
    }

    [Test]
    public async Task Status_Converged_NoFurtherWritesOnUnrelatedChanges()
    {
        await ConditionsAsync("first", c => c.Count == 3 && c[2].Status == "True");
        await Eventually.WaitAsync(() => !_source.HasPendingStatus, "status to settle");
        var writes = _api.StatusPatches.Count;
        var publications = Volatile.Read(ref _publications);

        _api.Put(FakeApiServer.Services, Service("unrelated"));
        await SourceBarrier.SettledAsync(_api, _source, _history, KubeService.KindName, long.Parse(_api.CurrentVersion, System.Globalization.CultureInfo.InvariantCulture));

        Assert.That(Volatile.Read(ref _publications), Is.GreaterThan(publications), "the unrelated change was published");
        Assert.That(_api.StatusPatches.Skip(writes).Select(p => $"{p.Name}: {p.Body.ToJsonString()}"), Is.Empty, "no status write");
    }

    [Test]
    public async Task Publication_StatusWritesHeldBack_EndpointChangesStillPublished()
    {
        await ConditionsAsync("first", c => c.Count == 3 && c[2].Status == "True");
        var release = new TaskCompletionSource();
        _api.HoldStatusPatches(release.Task);
        try
        {
            // A new RouteGroup needs a status write, which the API server does not answer.
            var writes = _api.StatusPatches.Count;
            _api.Put(FakeApiServer.RouteGroups, Group("second", weight: 100));
            await Eventually.WaitAsync(() => _api.StatusPatches.Count > writes, "the status write of the new RouteGroup to be sent (and held)");

            // Endpoints move meanwhile: they reach the publisher while that write hangs.
            _api.Put(FakeApiServer.EndpointSlices, Slice("cart", "10.0.0.2"));
            await Eventually.WaitAsync(
                () => Volatile.Read(ref _published)!.SlicesOf("shop", "cart").Single().Endpoints.Single().Addresses.SequenceEqual(["10.0.0.2"]),
                "the EndpointSlice change published while the status write is held");
        }
        finally
        {
            release.SetResult();
        }

        await ConditionsAsync("second", c => c.Count == 3 && c[0].Status == "True");
    }

    [Test]
    public async Task Status_OwnWrite_CausesNoPublication()
    {
        await Eventually.WaitAsync(() => !_source.HasPendingStatus, "status to settle");
        var publications = Volatile.Read(ref _publications);
        var edited = Group("first", weight: 100);
        edited["spec"]!["routingKey"] = "needs-a-status-write";
        _api.Put(FakeApiServer.RouteGroups, edited);
        await ConditionsAsync("first", c => c.Count == 3 && c[0].ObservedGeneration == 2);
        var afterEdit = Volatile.Read(ref _publications);

        // The status write above comes back as a watch event; a barrier publication after it proves it was seen.
        await SourceBarrier.SettledAsync(_api, _source, _history, RouteGroup.KindName, long.Parse(_api.CurrentVersion, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Multiple(() =>
        {
            Assert.That(afterEdit, Is.EqualTo(publications + 1), "the edit was published once");
            Assert.That(Volatile.Read(ref _publications), Is.EqualTo(afterEdit + 1), "only the barrier was published after it, not the status write");
        });
    }

    [Test]
    public async Task Status_AcksChanged_ReChecksProgrammedAtOnce_WithoutTheResync()
    {
        await _source.StopAsync(CancellationToken.None);   // one status writer: this test's
        var acked = false;
        using var source = new KubernetesRoutingHarness(_client, _ => [], TimeProvider.System, NullLogger<KubernetesSource>.Instance,
            new KubernetesRoutingOptions { Debounce = TimeSpan.FromMilliseconds(20), StatusInterval = Timeout.InfiniteTimeSpan }, () => Volatile.Read(ref acked));
        await source.StartAsync(CancellationToken.None);
        var edited = Group("first", weight: 100);
        edited["spec"]!["routingKey"] = "acked-by-event";
        _api.Put(FakeApiServer.RouteGroups, edited);
        var pending = await ConditionsAsync("first", c => c.Count == 3 && c[2].ObservedGeneration == 2);
        Assert.That((pending[2].Status, pending[2].Reason), Is.EqualTo(("False", "Pending")));

        Volatile.Write(ref acked, true);
        for (var i = 0; i < 100; i++)
        {
            source.AcksChanged();   // a burst of ACKs: coalesced into few re-checks
        }

        var programmed = await ConditionsAsync("first", c => c[2].Status == "True" && c[2].ObservedGeneration == 2);
        await source.StopAsync(CancellationToken.None);
        Assert.That(programmed[2].Reason, Is.EqualTo("Programmed"), "re-checked on the signal: the resync is infinite");
    }

    [Test]
    public async Task ServerHost_ProgrammedFollowsTheDataPlanesAcks()
    {
        await _source.StopAsync(CancellationToken.None);   // one status writer: the host's
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        // No safety resync: only the stream's ACK events can turn Programmed True.
        await using var host = await StartHostAsync(cancel.Token, new KubernetesStatusOptions { StatusInterval = Timeout.InfiniteTimeSpan });
        await Eventually.WaitAsync(() => host.Snapshots.GetSnapshot("gateway") is not null, "the first snapshot");

        // A gateway that receives clusters but has not ACKed them yet.
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        using var call = new global::Envoy.Service.Discovery.V3.AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: cancel.Token);
        const string Clusters = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
        var node = new global::Envoy.Config.Core.V3.Node { Id = "gw-1", Metadata = new Google.Protobuf.WellKnownTypes.Struct { Fields = { ["sandboxctl.io/role"] = Google.Protobuf.WellKnownTypes.Value.ForString("gateway") } } };
        await call.RequestStream.WriteAsync(new global::Envoy.Service.Discovery.V3.DiscoveryRequest { Node = node, TypeUrl = Clusters }, cancel.Token);
        Assert.That(await call.ResponseStream.MoveNext(cancel.Token), Is.True);
        var response = call.ResponseStream.Current;

        var edited = Group("first", weight: 100);
        edited["spec"]!["routingKey"] = "now-programmed";
        _api.Put(FakeApiServer.RouteGroups, edited);
        var pending = await ConditionsAsync("first", c => c.Count == 3 && c[2].ObservedGeneration == 2);
        Assert.That((pending[2].Status, pending[2].Reason), Is.EqualTo(("False", "Pending")), "the gateway holds an unACKed response");

        // ACK what it has, then every newer snapshot it is sent. An ACK is the next request with the accepted
        // response's version_info and response_nonce and no error_detail, and Envoy sends it at once ("Envoy replies to
        // any DiscoveryResponse with a DiscoveryRequest containing the ACK/NACK immediately": "ACK and NACK semantics"
        // in envoyproxy/envoy docs/root/api-docs/xds_protocol.rst).
        await call.RequestStream.WriteAsync(new global::Envoy.Service.Discovery.V3.DiscoveryRequest { TypeUrl = Clusters, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce }, cancel.Token);
        using var stopAcking = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token);
        var acking = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext(stopAcking.Token))
            {
                var next = call.ResponseStream.Current;
                await call.RequestStream.WriteAsync(new global::Envoy.Service.Discovery.V3.DiscoveryRequest { TypeUrl = Clusters, VersionInfo = next.VersionInfo, ResponseNonce = next.Nonce }, stopAcking.Token);
            }
        }, CancellationToken.None);

        var programmed = await ConditionsAsync("first", c => c[2].Status == "True" && c[2].ObservedGeneration == 2);
        Assert.That(programmed[2].Reason, Is.EqualTo("Programmed"));

        // The ACK loop ends because this test stops it, and for no other reason: any failure of it fails the test.
        await stopAcking.CancelAsync();
        try
        {
            await acking.WaitAsync(cancel.Token);
        }
        catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Cancelled && !cancel.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
        }

        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task StatusOnlyUpdate_NoPublication_TranslationKeepsTheInstance_AndOnlyThatObjectsStatusIsRewritten()
    {
        await ConditionsAsync("first", c => c.Count == 3 && c[2].Status == "True");
        await Eventually.WaitAsync(() => !_source.HasPendingStatus, "status to settle");
        var publications = PublicationCount();
        var translated = Volatile.Read(ref _published)!.RouteGroups.Single();
        var writes = _api.StatusPatches.Count;

        // Someone else overwrites the conditions: a status-only update (the generation stays).
        _api.PatchStatus(FakeApiServer.RouteGroups, "shop", "first", new JsonObject
        {
            ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Accepted", ["status"] = "False", ["reason"] = "Tampered" }),
        });
        var restored = await ConditionsAsync("first", c => c.Count == 3 && c[0].Reason == "Accepted" && c[2].Status == "True");
        await SourceBarrier.SettledAsync(_api, _source, _history, RouteGroup.KindName, long.Parse(_api.CurrentVersion, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Multiple(() =>
        {
            Assert.That(restored[0].Status, Is.EqualTo("True"), "the status check put the writer's conditions back");
            Assert.That(PublicationsSince(publications), Is.All.Matches<RoutingInputs>(p => p.Services.Any(s => s.Metadata.Name.StartsWith("barrier-", StringComparison.Ordinal))), "only the barrier was published");
            Assert.That(PublicationsSince(publications), Has.Count.EqualTo(1));
            Assert.That(Volatile.Read(ref _published)!.RouteGroups.Single(), Is.SameAs(translated), "translation is handed the very instance it had");
            Assert.That(_api.StatusPatches.Skip(writes).Select(p => p.Name).Distinct(), Is.EqualTo(new[] { "shop/first" }), "only the tampered object's status was written");
        });

        // A spec change is published, as a new instance.
        var edited = Group("first", weight: 100);
        edited["spec"]!["routingKey"] = "edited";
        _api.Put(FakeApiServer.RouteGroups, edited);
        await Eventually.WaitAsync(() => Volatile.Read(ref _published)!.RouteGroups.Single().Spec.RoutingKey == "edited", "the spec change to be published");
        Assert.That(PublicationsSince(publications), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task LocalWorkloadHeartbeats_NoPublicationAndNoStatusWrite_PhaseChangesArePublished()
    {
        string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        _api.Put(FakeApiServer.LocalWorkloads, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "LocalWorkload",
            ["metadata"] = new JsonObject { ["name"] = "bob", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["routingKey"] = "bob", ["service"] = "cart", ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }) },
            ["status"] = new JsonObject { ["tunnel"] = Tunnel(Now()) },
        });
        await ConditionsAsync(FakeApiServer.LocalWorkloads, "bob", c => c.Count == 3 && c[2] is { Status: "True", Reason: "Programmed" });
        await Eventually.WaitAsync(() => (string?)_api.Get(FakeApiServer.LocalWorkloads, "shop", "bob")?["status"]?["phase"] == "Connected", "the phase Connected");
        await SourceBarrier.SettledAsync(_api, _source, _history, LocalWorkload.KindName, long.Parse(_api.CurrentVersion, System.Globalization.CultureInfo.InvariantCulture));
        var publications = PublicationCount();
        var translated = Volatile.Read(ref _published)!.LocalWorkloads.Single();
        var writes = _api.StatusPatches.Count;

        for (var i = 0; i < 5; i++)
        {
            _api.PatchStatus(FakeApiServer.LocalWorkloads, "shop", "bob", new JsonObject { ["tunnel"] = new JsonObject { ["lastHeartbeat"] = Now() } });
        }

        await SourceBarrier.SettledAsync(_api, _source, _history, LocalWorkload.KindName, long.Parse(_api.CurrentVersion, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Multiple(() =>
        {
            Assert.That(PublicationsSince(publications), Has.Count.EqualTo(1), "only the barrier was published");
            Assert.That(Volatile.Read(ref _published)!.LocalWorkloads.Single(), Is.SameAs(translated), "translation is handed the very instance it had");
            Assert.That(_api.StatusPatches.Skip(writes).Where(p => p.Name == "shop/bob"), Is.Empty, "a heartbeat changes no status we write");
        });

        // A phase that changes IsRoutable is published.
        _api.PatchStatus(FakeApiServer.LocalWorkloads, "shop", "bob", new JsonObject { ["phase"] = "Failed" });
        await Eventually.WaitAsync(() => Volatile.Read(ref _published)!.LocalWorkloads.Single().IsRoutable == false, "the Failed phase to be published");
    }

    [Test]
    public async Task OneOfManyRouteGroupsEdited_OnlyItIsJudgedAndWritten_AndQuietAfterwards()
    {
        const int Count = 40;
        for (var i = 0; i < Count; i++)
        {
            _api.Put(FakeApiServer.RouteGroups, Group($"many-{i}", weight: 100));
        }

        await Eventually.WaitAsync(
            () => Enumerable.Range(0, Count).All(i => _api.Get(FakeApiServer.RouteGroups, "shop", $"many-{i}")?["status"]?["conditions"]?.AsArray().Count == 3) && !_source.HasPendingStatus,
            "every RouteGroup's status");
        await SourceBarrier.SettledAsync(_api, _source, _history, RouteGroup.KindName, long.Parse(_api.CurrentVersion, System.Globalization.CultureInfo.InvariantCulture));
        var writes = _api.StatusPatches.Count;
        var judged = _source.StatusJudged;

        var edited = Group("many-7", weight: 100);
        edited["spec"]!["routingKey"] = "seven";
        _api.Put(FakeApiServer.RouteGroups, edited);
        await ConditionsAsync("many-7", c => c.Count == 3 && c[2] is { Status: "True", ObservedGeneration: 2 });
        await SourceBarrier.SettledAsync(_api, _source, _history, RouteGroup.KindName, long.Parse(_api.CurrentVersion, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Multiple(() =>
        {
            Assert.That(_api.StatusPatches.Skip(writes).Select(p => p.Name).Distinct(), Is.EqualTo(new[] { "shop/many-7" }), "only the edited RouteGroup's status is written");
            Assert.That(_source.StatusJudged - judged, Is.LessThan(Count / 4), "only the changed objects are judged, not all of them");
        });

        // Converged: a quiet while (many status resyncs and phase ticks) writes nothing and publishes nothing.
        writes = _api.StatusPatches.Count;
        var publications = PublicationCount();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        Assert.Multiple(() =>
        {
            Assert.That(_api.StatusPatches.Skip(writes).Select(p => p.Name), Is.Empty, "no status write loop");
            Assert.That(PublicationsSince(publications), Is.Empty, "no publication loop");
        });
    }

    private int PublicationCount()
    {
        lock (_history)
        {
            return _history.Count;
        }
    }

    private List<RoutingInputs> PublicationsSince(int count)
    {
        lock (_history)
        {
            return [.. _history.Skip(count)];
        }
    }

    /// <summary>The server host with <c>--kubernetes</c> pointed at the fake API server.</summary>
    private async Task<XdsControlPlane.Server.ServerHost> StartHostAsync(CancellationToken cancellationToken, KubernetesStatusOptions? status = null)
    {
        var host = new InProcessServer()
            .WithServices(status is null ? null : services => services.AddSingleton(status))
            .WithLog(_log)
            .WithKubernetesApi(_api.Url)
            .Create();
        await host.StartAsync(cancellationToken);
        return host;
    }

    private Task<List<Condition>> ConditionsAsync(string name, Func<List<Condition>, bool> until) => ConditionsAsync(FakeApiServer.RouteGroups, name, until);

    private async Task<List<Condition>> ConditionsAsync(string path, string name, Func<List<Condition>, bool> until)
    {
        List<Condition> conditions = [];
        JsonNode? status = null;
        await Eventually.WaitAsync(() =>
        {
            status = _api.Get(path, "shop", name)?["status"];
            conditions = status?["conditions"]?.AsArray().Select(c => new Condition
            {
                Type = (string)c!["type"]!,
                Status = (string)c["status"]!,
                Reason = (string?)c["reason"],
                Message = (string?)c["message"],
                ObservedGeneration = (long?)c["observedGeneration"],
                LastTransitionTime = (string?)c["lastTransitionTime"],
            }).ToList() ?? [];
            return until(conditions);
        }, () => $"the status of {name}; last seen: {status?.ToJsonString() ?? "none"}");
        return conditions;
    }

    private string[] Translated() =>
        [.. new XdsControlPlane.Translation.RoutingTranslator().Translate(Volatile.Read(ref _published)!).Groups["sidecar"].Select(r => r.Name)];

    private string[] Names() => [.. Volatile.Read(ref _published)?.RouteGroups.Select(g => g.Metadata.Name) ?? []];

    private static JsonObject Service(string name) => FakeApiServer.ServiceObject("shop", name);

    private static JsonObject Sandbox(string name, string ttl) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "Sandbox",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject { ["ttl"] = ttl, ["forks"] = new JsonArray(new JsonObject { ["of"] = new JsonObject { ["name"] = "cart" } }) },
    };

    private static JsonObject Slice(string service, string address) => new()
    {
        ["apiVersion"] = "discovery.k8s.io/v1",
        ["kind"] = "EndpointSlice",
        ["metadata"] = new JsonObject { ["name"] = service + "-1", ["namespace"] = "shop", ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = service } },
        ["addressType"] = "IPv4",
        ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = 18080, ["protocol"] = "TCP" }),
        ["endpoints"] = new JsonArray(new JsonObject { ["addresses"] = new JsonArray(address) }),
    };

    private static JsonObject Group(string name, int weight) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "RouteGroup",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject
        {
            ["routes"] = new JsonArray(new JsonObject
            {
                ["service"] = "cart",
                ["to"] = new JsonArray(new JsonObject { ["service"] = "cart-v2", ["weight"] = weight }, new JsonObject { ["service"] = "cart", ["weight"] = 0 }),
            }),
        },
    };
}
