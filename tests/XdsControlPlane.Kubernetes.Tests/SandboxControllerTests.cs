using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>The Sandbox controller: the official KubernetesClient against the fake API server over HTTP.</summary>
public sealed class SandboxControllerTests
{
    private const string PreviewDomain = "preview.example.com";
    private FakeApiServer _api = null!;
    private SandboxController _controller = null!;
    private global::k8s.Kubernetes _client = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _api = await FakeApiServer.StartAsync();
        _api.Put(FakeApiServer.Deployments, Baseline("cart", "cart:1.0"));
        _api.Put(FakeApiServer.Deployments, Baseline("checkout", "checkout:1.0"));
        _api.Put(FakeApiServer.Services, Service("cart", new JsonObject { ["app"] = "cart" }, 8080));
        _api.Put(FakeApiServer.Services, Service("cart-admin", new JsonObject { ["app"] = "cart", ["tier"] = "backend" }, 9000));
        _api.Put(FakeApiServer.Services, Service("checkout", new JsonObject { ["app"] = "checkout" }, 9090));
        _client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url.ToString() });
        _controller = new SandboxController(_client, TimeProvider.System, new ProgressLogger<SandboxController>(), new SandboxControllerOptions { RetryBase = TimeSpan.FromMilliseconds(20), PreviewDomain = PreviewDomain, PreviewSalt = "test-salt" });
        await _controller.StartAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => _controller.HasSynced, "the controller's informers to list");
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _controller.StopAsync(CancellationToken.None);
        _controller.Dispose();
        _client.Dispose();
        await _api.DisposeAsync();
    }

    [Test]
    public async Task TwoForks_MakeDeploymentsAndServicesOwnedByTheSandbox_AndItIsReadyWhenTheirPodsAre()
    {
        _api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", Fork("cart", "cart:feature-x", ("FEATURE_X", "on")), Fork("checkout")));

        await Eventually.WaitAsync(() => Phase("feature-x") == "Pending" && _api.List(FakeApiServer.Deployments, "shop").Length == 4, "two fork Deployments and phase Pending");
        var sandbox = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!;
        var uid = (string)sandbox["metadata"]!["uid"]!;
        var cart = _api.Get(FakeApiServer.Deployments, "shop", "cart-feature-x")!;
        var container = cart["spec"]!["template"]!["spec"]!["containers"]![0]!;
        var podLabels = cart["spec"]!["template"]!["metadata"]!["labels"]!.AsObject();
        var forkServices = _api.List(FakeApiServer.Services, "shop").Where(s => s["metadata"]!["labels"]?["sandboxctl.io/sandbox"] is not null).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(sandbox["metadata"]!["finalizers"]!.AsArray().Select(f => (string?)f), Does.Contain("sandboxctl.io/forks"));
            Assert.That((string?)container["image"], Is.EqualTo("cart:feature-x"));
            Assert.That(container["env"]!.AsArray().Select(e => $"{e!["name"]}={e["value"]}"), Is.EqualTo(new[] { "LOG_LEVEL=info", "FEATURE_X=on" }));
            Assert.That((int?)cart["spec"]!["replicas"], Is.EqualTo(1), "a fork runs one replica whatever the baseline runs");

            // The fork's pods must not be picked up by the baseline Services' or Deployment's selectors.
            Assert.That(podLabels.ContainsKey("app") || podLabels.ContainsKey("tier"), Is.False, $"fork pod labels {podLabels.ToJsonString()}");
            Assert.That((string?)podLabels["sandboxctl.io/sandbox"], Is.EqualTo("feature-x"));
            Assert.That((string?)podLabels["version"], Is.EqualTo("stable"), "labels no selector uses are kept");
            Assert.That((string?)_api.Get(FakeApiServer.Deployments, "shop", "checkout-feature-x")!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"], Is.EqualTo("checkout:1.0"));

            // One fork Service per baseline Service that selects the baseline's pods, labelled for the translator.
            Assert.That(forkServices.Select(s => $"{s["metadata"]!["name"]} fork-of={s["metadata"]!["labels"]!["sandboxctl.io/fork-of"]}"),
                Is.EquivalentTo(new[] { "cart-feature-x fork-of=cart", "cart-admin-feature-x fork-of=cart-admin", "checkout-feature-x fork-of=checkout" }));
            Assert.That(forkServices.Select(s => s["spec"]!["selector"]!.ToJsonString()).Distinct().Count(), Is.EqualTo(2), "the services of one fork select that fork's pods");

            // Everything is owned by the Sandbox (so the garbage collector would remove it with the Sandbox).
            foreach (var owned in forkServices.Append(cart))
            {
                var owner = owned["metadata"]!["ownerReferences"]![0]!;
                Assert.That(((string?)owner["uid"], (string?)owner["kind"], (bool?)owner["controller"]), Is.EqualTo((uid, "Sandbox", (bool?)true)), (string?)owned["metadata"]!["name"]);
            }
        });

        _api.SetDeploymentReady("shop", "cart-feature-x", ready: true);
        await Eventually.WaitAsync(() => ForkReady("feature-x", "cart") == true, "the cart fork to be reported ready");
        Assert.That(Phase("feature-x"), Is.EqualTo("Pending"), "one fork of two is ready");

        _api.SetDeploymentReady("shop", "checkout-feature-x", ready: true);

        // The Event is recorded after the status is written: wait for both, or the assertion races the recorder.
        await Eventually.WaitAsync(() => Phase("feature-x") == "Ready" && EventReasons("feature-x").Contains("Ready"), "phase Ready, with its Event");
        var status = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!["status"]!;
        Assert.Multiple(() =>
        {
            Assert.That((string?)status["routingKey"], Is.EqualTo("feature-x"), "the spec's key");
            Assert.That(status["forks"]!.AsArray().Select(f => $"{f!["name"]} {f["deployment"]} {f["ready"]}"), Is.EqualTo(new[] { "cart cart-feature-x true", "checkout checkout-feature-x true" }));
            Assert.That(Condition("feature-x"), Is.EqualTo(("True", "ForksReady")));
            Assert.That(EventReasons("feature-x"), Is.SupersetOf(new[] { "ForkCreated", "Pending", "Ready" }));
        });
    }

    [Test]
    public async Task Previews_StatusListsEachUrlAndAccess_FromTheHostNamesTheGatewayServes()
    {
        var sandbox = Sandbox("feature-x", Fork("cart"));
        sandbox["spec"]!["previews"] = new JsonArray(
            new JsonObject { ["service"] = "cart", ["port"] = 8080, ["access"] = "public" },
            new JsonObject { ["service"] = "checkout", ["port"] = 9090 });
        _api.Put(FakeApiServer.Sandboxes, sandbox);

        await Eventually.WaitAsync(() => _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")?["status"]?["previews"]?.AsArray().Count == 2, "two previews in the status");
        var status = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!["status"]!;
        var condition = status["conditions"]!.AsArray().Single(c => (string?)c!["type"] == "Previews")!;
        Assert.Multiple(() =>
        {
            Assert.That(status["previews"]!.AsArray().Select(p => ((string?)p!["service"], (int?)p["port"], (string?)p["url"], (string?)p["access"])), Is.EqualTo(new[]
            {
                ("cart", (int?)8080, "https://" + PreviewHostNames.Host("Sandbox", "shop", "feature-x", "cart", 8080, "test-salt", PreviewDomain) + "/", "public"),
                ("checkout", (int?)9090, "https://" + PreviewHostNames.Host("Sandbox", "shop", "feature-x", "checkout", 9090, "test-salt", PreviewDomain) + "/", "personal"),
            }));
            Assert.That(((string?)condition["status"], (string?)condition["reason"]), Is.EqualTo(("True", "Served")));
        });
    }

    [Test]
    public async Task Previews_WithoutAPreviewDomain_TheConditionSaysTheyAreOff()
    {
        await _controller.StopAsync(CancellationToken.None);
        _controller.Dispose();
        _controller = new SandboxController(_client, TimeProvider.System, new ProgressLogger<SandboxController>(), new SandboxControllerOptions { RetryBase = TimeSpan.FromMilliseconds(20) });
        await _controller.StartAsync(CancellationToken.None);
        var sandbox = Sandbox("feature-x");
        sandbox["spec"]!["previews"] = new JsonArray(new JsonObject { ["service"] = "cart", ["port"] = 8080, ["access"] = "shared" });
        _api.Put(FakeApiServer.Sandboxes, sandbox);

        await Eventually.WaitAsync(
            () => _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")?["status"]?["conditions"]?.AsArray().Any(c => (string?)c!["type"] == "Previews") == true, "a Previews condition");
        var status = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!["status"]!;
        var condition = status["conditions"]!.AsArray().Single(c => (string?)c!["type"] == "Previews")!;
        Assert.Multiple(() =>
        {
            Assert.That(((string?)condition["status"], (string?)condition["reason"]), Is.EqualTo(("False", "PreviewsDisabled")));
            Assert.That((string?)condition["message"], Does.Contain("--preview-domain"));
            Assert.That(status["previews"]?.AsArray() ?? [], Is.Empty);
        });
    }

    [Test]
    public async Task NoRoutingKey_OneIsGeneratedAndKept()
    {
        _api.Put(FakeApiServer.Sandboxes, Sandbox("bob", Fork("cart")) is var sandbox && sandbox["spec"]!.AsObject().Remove("routingKey") ? sandbox : sandbox);

        await Eventually.WaitAsync(() => (string?)_api.Get(FakeApiServer.Sandboxes, "shop", "bob")?["status"]?["routingKey"] is not null, "a generated routing key");
        var key = (string)_api.Get(FakeApiServer.Sandboxes, "shop", "bob")!["status"]!["routingKey"]!;
        Assert.That(key, Does.Match("^bob-[a-z0-9]{6}$"));

        _api.SetDeploymentReady("shop", "cart-bob", ready: true);
        await Eventually.WaitAsync(() => Phase("bob") == "Ready", "phase Ready");
        Assert.That((string?)_api.Get(FakeApiServer.Sandboxes, "shop", "bob")!["status"]!["routingKey"], Is.EqualTo(key), "the key does not change once given");
    }

    [Test]
    public async Task Delete_TheFinalizerRemovesTheForksThenReleasesTheSandbox()
    {
        _api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", Fork("cart")));
        await Eventually.WaitAsync(() => Phase("feature-x") == "Pending" && _api.Get(FakeApiServer.Services, "shop", "cart-feature-x") is not null, "the fork");

        _api.Delete(FakeApiServer.Sandboxes, "shop", "feature-x");

        await Eventually.WaitAsync(() => _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x") is null, "the Sandbox to be gone");
        Assert.Multiple(() =>
        {
            Assert.That(_api.List(FakeApiServer.Deployments, "shop").Select(d => (string?)d["metadata"]!["name"]), Is.EquivalentTo(new[] { "cart", "checkout" }));
            Assert.That(_api.List(FakeApiServer.Services, "shop").Select(d => (string?)d["metadata"]!["name"]), Is.EquivalentTo(new[] { "cart", "cart-admin", "checkout" }));
            Assert.That(EventReasons("feature-x"), Does.Contain("ForkDeleted"));
        });
    }

    [Test]
    public async Task Ttl_ExpiredSandboxIsDeleted_AndOneWithTimeLeftGoesWhenItRunsOut()
    {
        // A controller on a clock of the test's own: "not expired yet" holds however slow the machine is.
        await _controller.StopAsync(CancellationToken.None);
        _controller.Dispose();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        _controller = new SandboxController(_client, clock, new ProgressLogger<SandboxController>(), new SandboxControllerOptions { RetryBase = TimeSpan.FromMilliseconds(20) });
        await _controller.StartAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => _controller.HasSynced, "the controller's informers to list");
        string Ago(TimeSpan age) => (clock.GetUtcNow() - age).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var old = Sandbox("old", Fork("cart"));
        old["metadata"]!["creationTimestamp"] = Ago(TimeSpan.FromHours(2));
        old["spec"]!["ttl"] = "1h";
        var brief = Sandbox("brief", Fork("checkout"));
        brief["metadata"]!["creationTimestamp"] = Ago(TimeSpan.Zero);
        brief["spec"]!["ttl"] = "30m";
        _api.Put(FakeApiServer.Sandboxes, old);
        _api.Put(FakeApiServer.Sandboxes, brief);

        // Retries (a conflict, say) wait on the clock too: let it run in small steps, far from brief's 30 minutes.
        await Eventually.WaitAsync(() => Step(clock) && _api.Get(FakeApiServer.Sandboxes, "shop", "old") is null && EventReasons("old").Contains("Expired"), "the expired Sandbox to be deleted, with an Event");
        await Eventually.WaitAsync(() => Step(clock) && _api.Get(FakeApiServer.Deployments, "shop", "checkout-brief") is not null, "the brief Sandbox's fork");
        Assert.That(_api.Get(FakeApiServer.Sandboxes, "shop", "brief"), Is.Not.Null, "thirty minutes have not passed");

        clock.Advance(TimeSpan.FromMinutes(30));
        await Eventually.WaitAsync(() => Step(clock) && _api.Get(FakeApiServer.Sandboxes, "shop", "brief") is null, "the brief Sandbox to expire without any other change");
        Assert.That(_api.Get(FakeApiServer.Deployments, "shop", "checkout-brief"), Is.Null, "its fork went with it");

        static bool Step(Microsoft.Extensions.Time.Testing.FakeTimeProvider clock)
        {
            clock.Advance(TimeSpan.FromMilliseconds(20));
            return true;
        }
    }

    [Test]
    public async Task MissingBaselineOrForeignObject_FailsWithTheReason_AndLeavesOtherObjectsAlone()
    {
        var foreign = Baseline("cart-clash", "someone-elses:1");
        _api.Put(FakeApiServer.Deployments, foreign);
        _api.Put(FakeApiServer.Sandboxes, Sandbox("missing", Fork("cart"), Fork("payments")));
        _api.Put(FakeApiServer.Sandboxes, Sandbox("clash", Fork("cart")));

        // The Event is recorded after the status is written: wait for both, or the assertion races the recorder.
        await Eventually.WaitAsync(() => Phase("missing") == "Failed" && Phase("clash") == "Failed" && EventReasons("missing").Contains("Failed"), "both Sandboxes to fail, with an Event");
        Assert.Multiple(() =>
        {
            Assert.That(ConditionMessage("missing"), Does.Contain("baseline Deployment shop/payments does not exist"));
            Assert.That(Condition("missing"), Is.EqualTo(("False", "BaselineNotFound")));
            Assert.That(_api.Get(FakeApiServer.Deployments, "shop", "cart-missing"), Is.Not.Null, "the fork that can be made is made");
            Assert.That(ConditionMessage("clash"), Does.Contain("Deployment shop/cart-clash already exists and does not belong to this sandbox"));
            Assert.That((string?)_api.Get(FakeApiServer.Deployments, "shop", "cart-clash")!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"], Is.EqualTo("someone-elses:1"), "not taken over");
            Assert.That(EventReasons("missing"), Does.Contain("Failed"));
        });
    }

    [Test]
    public async Task ForkRemovedFromSpec_ItsDeploymentAndServicesAreDeleted_AndAnImageChangeIsRolledOut()
    {
        _api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", Fork("cart"), Fork("checkout")));
        await Eventually.WaitAsync(() => _api.Get(FakeApiServer.Services, "shop", "checkout-feature-x") is not null && _api.Get(FakeApiServer.Services, "shop", "cart-feature-x") is not null, "both forks");

        _api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", Fork("cart", "cart:2.0")));

        await Eventually.WaitAsync(
            () => _api.Get(FakeApiServer.Deployments, "shop", "checkout-feature-x") is null && _api.Get(FakeApiServer.Services, "shop", "checkout-feature-x") is null
                && (string?)_api.Get(FakeApiServer.Deployments, "shop", "cart-feature-x")?["spec"]?["template"]?["spec"]?["containers"]?[0]?["image"] == "cart:2.0",
            "the checkout fork to go and the cart fork to get the new image");
        Assert.That(_api.Get(FakeApiServer.Services, "shop", "cart-feature-x"), Is.Not.Null);
        Assert.That(EventReasons("feature-x"), Is.SupersetOf(new[] { "ForkDeleted", "ForkUpdated" }));
    }

    [Test]
    public async Task BaselineDeletedLater_SandboxFails_ButItsRunningForkIsKept()
    {
        _api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", Fork("cart"), Fork("checkout")));
        await Eventually.WaitAsync(() => _api.Get(FakeApiServer.Services, "shop", "cart-feature-x") is not null && _api.Get(FakeApiServer.Services, "shop", "checkout-feature-x") is not null, "both forks");

        _api.Delete(FakeApiServer.Deployments, "shop", "checkout");
        var labelled = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!;
        labelled["metadata"]!["labels"] = new JsonObject { ["touched"] = "yes" };   // any change queues the Sandbox again
        _api.Put(FakeApiServer.Sandboxes, labelled);

        await Eventually.WaitAsync(() => Phase("feature-x") == "Failed", "the Sandbox to report the missing baseline");
        Assert.Multiple(() =>
        {
            Assert.That(ConditionMessage("feature-x"), Does.Contain("baseline Deployment shop/checkout does not exist"));
            Assert.That(_api.Get(FakeApiServer.Deployments, "shop", "checkout-feature-x"), Is.Not.Null, "the running fork is not deleted with its baseline");
            Assert.That(_api.Get(FakeApiServer.Services, "shop", "checkout-feature-x"), Is.Not.Null);
        });
    }

    [Test]
    public async Task InvalidSandbox_IsFailedWithTheFieldPath_AndMakesNothing()
    {
        var invalid = Sandbox("typo", Fork("cart"));
        invalid["spec"]!["ttl"] = "soon";
        _api.Put(FakeApiServer.Sandboxes, invalid);
        _api.Put(FakeApiServer.Sandboxes, Sandbox("fine", Fork("checkout")));

        await Eventually.WaitAsync(() => Phase("typo") == "Failed" && Phase("fine") == "Pending", "the invalid one to fail and the other to proceed");
        Assert.Multiple(() =>
        {
            Assert.That(ConditionMessage("typo"), Does.Contain("spec.ttl: must be a duration from 1s to 8760h"));
            Assert.That(Condition("typo"), Is.EqualTo(("False", "Invalid")));
            Assert.That(_api.Get(FakeApiServer.Deployments, "shop", "cart-typo"), Is.Null);
        });
    }

    [Test]
    public async Task WatchNamespaces_SandboxesElsewhereAreLeftAlone()
    {
        await _controller.StopAsync(CancellationToken.None);
        _controller.Dispose();
        _controller = new SandboxController(_client, TimeProvider.System, new ProgressLogger<SandboxController>(), new SandboxControllerOptions { Namespaces = ["team-a", "shop"] });
        await _controller.StartAsync(CancellationToken.None);
        var elsewhere = Sandbox("elsewhere", Fork("cart"));
        elsewhere["metadata"]!["namespace"] = "team-b";
        _api.Put(FakeApiServer.Sandboxes, elsewhere);
        _api.Put(FakeApiServer.Sandboxes, Sandbox("here", Fork("cart")));

        await Eventually.WaitAsync(() => Phase("here") == "Pending", "the Sandbox in a watched namespace");
        Assert.That(_api.Get(FakeApiServer.Sandboxes, "team-b", "elsewhere")!["status"], Is.Null, "not reconciled");
    }

    [Test]
    public async Task Settled_ReconcilingAgainWritesNothing_WithTheRoutingStatusWriterAlongside()
    {
        // The source writes Accepted/ResolvedRefs/Programmed into the same condition list the controller writes Ready to.
        var published = new List<RoutingInputs>();
        using var source = new KubernetesRoutingHarness(_client, inputs =>
        {
            lock (published)
            {
                published.Add(inputs);
            }

            return [];
        }, TimeProvider.System, NullLogger<KubernetesSource>.Instance, new KubernetesRoutingOptions { Debounce = TimeSpan.FromMilliseconds(20), StatusInterval = TimeSpan.FromMilliseconds(50) });
        await source.StartAsync(CancellationToken.None);
        _api.Put(FakeApiServer.Sandboxes, Sandbox("feature-x", Fork("cart")));
        await Eventually.WaitAsync(() => _api.Get(FakeApiServer.Deployments, "shop", "cart-feature-x") is not null, "the fork");
        _api.SetDeploymentReady("shop", "cart-feature-x", ready: true);

        // Every condition True is where both writers end: from here on, any status write is a redundant one.
        await Eventually.WaitAsync(
            () => Phase("feature-x") == "Ready" && EventReasons("feature-x").Contains("Ready")
                && ReadyCondition("feature-x")?.Parent?.AsArray() is { Count: 4 } all && all.All(c => (string?)c!["status"] == "True"),
            "phase Ready, its Event and all four conditions True");
        var patches = _api.StatusPatches.Count;

        // An unrelated edit of the Sandbox (a label) queues it again; nothing it owns needs to change.
        var labelled = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!;
        labelled["metadata"]!["labels"] = new JsonObject { ["team"] = "payments" };
        _api.Put(FakeApiServer.Sandboxes, labelled);
        var edit = long.Parse(_api.CurrentVersion, System.Globalization.CultureInfo.InvariantCulture);

        // Wait for both writers to have acted on the edit, not for time to pass.
        _api.Bookmark();
        await Eventually.WaitAsync(() => _controller.HasSettled(edit), "the controller to reconcile the edited Sandbox");
        await SourceBarrier.SettledAsync(_api, source, published, XdsControlPlane.Model.Sandbox.KindName, edit);

        Assert.That(_api.StatusPatches.Skip(patches).Select(p => $"{p.Name}: {p.Body.ToJsonString()}"), Is.Empty, "no status write");
        Assert.That(WritesSince(edit.ToString(System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(1), "nothing but the barrier Service written after the label edit");
        Assert.That(
            ReadyCondition("feature-x")!.Parent!.AsArray().Select(c => (string?)c!["type"]),
            Is.EquivalentTo(new[] { "Ready", "Accepted", "ResolvedRefs", "Programmed" }));
        await source.StopAsync(CancellationToken.None);
    }

    private long WritesSince(string version) => long.Parse(_api.CurrentVersion, System.Globalization.CultureInfo.InvariantCulture) - long.Parse(version, System.Globalization.CultureInfo.InvariantCulture);

    private string? Phase(string name) => (string?)_api.Get(FakeApiServer.Sandboxes, "shop", name)?["status"]?["phase"];

    private bool? ForkReady(string name, string fork) =>
        (bool?)_api.Get(FakeApiServer.Sandboxes, "shop", name)?["status"]?["forks"]?.AsArray().FirstOrDefault(f => (string?)f!["name"] == fork)?["ready"];

    private (string?, string?) Condition(string name)
    {
        var ready = ReadyCondition(name);
        return ((string?)ready?["status"], (string?)ready?["reason"]);
    }

    private string? ConditionMessage(string name) => (string?)ReadyCondition(name)?["message"];

    private JsonNode? ReadyCondition(string name) =>
        _api.Get(FakeApiServer.Sandboxes, "shop", name)?["status"]?["conditions"]?.AsArray().FirstOrDefault(c => (string?)c!["type"] == "Ready");

    private string[] EventReasons(string name) =>
        [.. _api.List(FakeApiServer.Events, "shop").Where(e => (string?)e["involvedObject"]?["name"] == name).Select(e => (string)e["reason"]!)];

    private static JsonObject Baseline(string name, string image) => new()
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop", ["labels"] = new JsonObject { ["app"] = name } },
        ["spec"] = new JsonObject
        {
            ["replicas"] = 3,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["app"] = name } },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["app"] = name, ["tier"] = "backend", ["version"] = "stable" } },
                ["spec"] = new JsonObject
                {
                    ["containers"] = new JsonArray(new JsonObject
                    {
                        ["name"] = name,
                        ["image"] = image,
                        ["env"] = new JsonArray(new JsonObject { ["name"] = "LOG_LEVEL", ["value"] = "info" }),
                    }),
                },
            },
        },
    };

    private static JsonObject Service(string name, JsonObject selector, int port) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Service",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject
        {
            ["selector"] = selector,
            ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = port, ["targetPort"] = port, ["protocol"] = "TCP" }),
        },
    };

    private static JsonObject Fork(string baseline, string? image = null, params (string Name, string Value)[] env)
    {
        var fork = new JsonObject { ["of"] = new JsonObject { ["kind"] = "Deployment", ["name"] = baseline } };
        if (image is not null)
        {
            fork["image"] = image;
        }

        if (env.Length > 0)
        {
            fork["env"] = new JsonArray([.. env.Select(e => (JsonNode)new JsonObject { ["name"] = e.Name, ["value"] = e.Value })]);
        }

        return fork;
    }

    private static JsonObject Sandbox(string name, params JsonObject[] forks) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "Sandbox",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject { ["routingKey"] = name, ["forks"] = new JsonArray([.. forks]) },
    };


    /// <summary>Writes the controller's warnings to the test output, so a failure shows why the controller gave up.</summary>
    private sealed class ProgressLogger<T> : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            TestContext.Progress.WriteLine($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : "\n" + exception)}");
    }
}
