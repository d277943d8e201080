using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl sandbox</c> through the official KubernetesClient against the fake API server over HTTP. The tests
/// act as the Sandbox controller: they patch the status <c>--wait</c> is waiting for.
/// </summary>
public sealed class SandboxCommandTests
{
    private readonly HostLog _log = new();

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private FakeApiServer _api = null!;
    private CliHarness _cli = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _log.Clear();
        _api = await FakeApiServer.StartAsync();
        _cli = new CliHarness();
        _cli.DefaultKubeconfig = _cli.Kubeconfig(_api.Url);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _api.DisposeAsync();
        _cli.Dispose();
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task Apply_MultiDocumentFile_CreatesThenConfiguresInTheRightNamespaces()
    {
        var file = _cli.Write("sbx.yaml", Sandbox("feature-x", "registry/cart:dev") + "---\n" + Sandbox("feature-y", "registry/cart:y", ns: "team-b"));

        var (code, stdout, stderr) = await Sandboxctl("sandbox", "apply", "-f", file);
        var (againCode, again, _) = await Sandboxctl("sbx", "apply", "-f", _cli.Write("sbx2.yaml", Sandbox("feature-x", "registry/cart:dev2")));
        var (otherCode, other, _) = await Sandboxctl("sbx", "apply", "-f", _cli.Write("sbx3.yaml", Sandbox("feature-z", null)), "-n", "team-c");

        var stored = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!;
        Assert.Multiple(() =>
        {
            Assert.That((code, againCode, otherCode), Is.EqualTo((0, 0, 0)), stderr);
            Assert.That(stdout, Is.EqualTo("sandbox.sandboxctl.io/feature-x created\nsandbox.sandboxctl.io/feature-y created\n"));
            Assert.That(again, Is.EqualTo("sandbox.sandboxctl.io/feature-x configured\n"));
            Assert.That(other, Is.EqualTo("sandbox.sandboxctl.io/feature-z created\n"));
            Assert.That((string?)stored["spec"]!["forks"]![0]!["image"], Is.EqualTo("registry/cart:dev2"));
            Assert.That((long?)stored["metadata"]!["generation"], Is.EqualTo(2));
            Assert.That(_api.Get(FakeApiServer.Sandboxes, "team-b", "feature-y"), Is.Not.Null, "the file's namespace wins");
            Assert.That(_api.Get(FakeApiServer.Sandboxes, "team-c", "feature-z"), Is.Not.Null, "-n when the file has none");
        });
    }

    [Test]
    public async Task Apply_Existing_KeepsTheControllersFinalizer()
    {
        await Sandboxctl("sandbox", "apply", "-f", _cli.Write("v1.yaml", Sandbox("feature-x", "registry/cart:v1")));
        var stored = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!;
        stored["metadata"]!["finalizers"] = new JsonArray("sandboxctl.io/forks");   // as the Sandbox controller adds it
        _api.Put(FakeApiServer.Sandboxes, stored);

        var (code, _, stderr) = await Sandboxctl("sandbox", "apply", "-f", _cli.Write("v2.yaml", Sandbox("feature-x", "registry/cart:v2")));

        var updated = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That((string?)updated["spec"]!["forks"]![0]!["image"], Is.EqualTo("registry/cart:v2"));
            Assert.That(updated["metadata"]!["finalizers"]?.AsArray().Select(f => (string?)f), Is.EqualTo(new[] { "sandboxctl.io/forks" }), "a replace from a file must not drop it");
        });
    }

    [TestCase("ttl: forever", "Sandbox shop/broken: spec.ttl: must be a duration from 1s to 8760h such as 30m or 24h, got 'forever'")]
    [TestCase("tll: 2h", "Sandbox shop/broken: spec.tll: unknown field 'tll'")]
    [TestCase("routingKey: Feature_X", "Sandbox shop/broken: spec.routingKey: must be 1-63 characters of [a-z0-9-], got 'Feature_X'")]
    public async Task Apply_InvalidFile_ExitsOneNamingFileAndFieldPathAndAppliesNothing(string line, string expected)
    {
        var text = Sandbox("good", null) + $$$"""
            ---
            apiVersion: sandboxctl.io/v1alpha1
            kind: Sandbox
            metadata: {name: broken}
            spec:
              forks: [{of: {name: cart}}]
              {{{line}}}
            """;

        var (code, stdout, stderr) = await Sandboxctl("sandbox", "apply", "-f", _cli.Write("sbx.yaml", text));

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain("sbx.yaml:").And.Contain(expected).And.Contain("nothing was applied"));
            Assert.That(stdout, Is.Empty);
            Assert.That(_api.Get(FakeApiServer.Sandboxes, "shop", "good"), Is.Null);
        });
    }

    [Test]
    public async Task Create_WithFlags_StoresTheSpec()
    {
        var (code, stdout, stderr) = await Sandboxctl(
            "sandbox", "create", "feature-x", "--fork", "cart=registry/cart:dev", "--fork", "checkout",
            "--env", "cart:FEATURE_X=on", "--env", "cart:GREETING=a=b", "--routing-key", "fx", "--ttl", "2h");

        var spec = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")?["spec"];
        var expected = JsonNode.Parse("""
            {
              "routingKey": "fx",
              "forks": [
                {"of": {"kind": "Deployment", "name": "cart"}, "image": "registry/cart:dev", "env": [{"name": "FEATURE_X", "value": "on"}, {"name": "GREETING", "value": "a=b"}]},
                {"of": {"kind": "Deployment", "name": "checkout"}, "env": []}
              ],
              "ttl": "2h",
              "previews": []
            }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stdout, Is.EqualTo("sandbox.sandboxctl.io/feature-x created\n"));
            Assert.That(JsonNode.DeepEquals(spec, expected), Is.True, spec?.ToJsonString());
        });
    }

    [Test]
    public async Task Create_AlreadyExists_ExitsOneWithApplyHint()
    {
        await Sandboxctl("sandbox", "create", "feature-x", "--fork", "cart");

        var (code, _, stderr) = await Sandboxctl("sandbox", "create", "feature-x", "--fork", "checkout");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.StartWith("error: Sandbox shop/feature-x already exists.").And.Contain("hint: Change it with: sandboxctl sandbox apply -f"));
            Assert.That((string?)_api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!["spec"]!["forks"]![0]!["of"]!["name"], Is.EqualTo("cart"));
        });
    }

    [TestCase("--ttl", "2x", "error: --ttl must be a duration from 1s to 8760h such as 30m or 24h, got '2x'.")]
    [TestCase("--ttl", "9999999999999h", "error: --ttl must be a duration from 1s to 8760h such as 30m or 24h, got '9999999999999h'.")]
    [TestCase("--ttl", "100000000h", "error: --ttl must be a duration from 1s to 8760h such as 30m or 24h, got '100000000h'.")]
    [TestCase("--routing-key", "Feature_X", "error: --routing-key must be 1-63 characters of [a-z0-9-], got 'Feature_X'.")]
    [TestCase("--fork", "=registry/cart:dev", "error: --fork must be DEPLOYMENT or DEPLOYMENT=IMAGE, got '=registry/cart:dev'.")]
    [TestCase("--fork", "Cart", "error: --fork must name a Deployment, got 'Cart'.")]
    [TestCase("--env", "cart-FEATURE", "error: --env must be DEPLOYMENT:NAME=VALUE, got 'cart-FEATURE'.")]
    [TestCase("--env", "checkout:A=1", "error: --env 'checkout:A=1' is for Deployment checkout, which no --fork names.")]
    [TestCase("--env", "cart:1A=b", "error: --env must be a valid environment variable name, got '1A'.")]
    [TestCase("--timeout", "soon", "--timeout must be a duration from 1ms to 24h such as 30s or 2m or 00:02:00, got 'soon'.")]
    [TestCase("--timeout", "9999999999999h", "--timeout must be a duration from 1ms to 24h such as 30s or 2m or 00:02:00, got '9999999999999h'.")]
    [TestCase("--timeout", "10675199.02:48:05", "--timeout must be a duration from 1ms to 24h such as 30s or 2m or 00:02:00, got '10675199.02:48:05'.")]
    public async Task Create_BadFlag_ExitsOneNamingTheFlagAndCreatesNothing(string flag, string value, string expected)
    {
        string[] args = flag == "--fork" ? ["sandbox", "create", "feature-x", "--fork", value] : ["sandbox", "create", "feature-x", "--fork", "cart", flag, value];

        var (code, stdout, stderr) = await Sandboxctl(args);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain(expected));
            Assert.That(stdout, Does.Not.Contain("created"));
            Assert.That(_api.Get(FakeApiServer.Sandboxes, "shop", "feature-x"), Is.Null);
        });
    }

    [TestCase("2026-11-27T10:00:00Z", "2h", "30m")]
    [TestCase("2026-11-27T10:00:00Z", "1h", "expired")]
    [TestCase("2026-11-27T10:00:00Z", null, "-")]
    [TestCase(null, "2h", "2h")]
    public void ExpiresIn_TimeLeftOfTheTtl(string? created, string? ttl, string expected) =>
        Assert.That(SandboxCommands.ExpiresIn(created, ttl, DateTimeOffset.Parse("2026-11-27T11:30:00Z", CultureInfo.InvariantCulture)), Is.EqualTo(expected));

    [Test]
    public async Task List_Table_ShowsKeyPhaseReadyForksTimeLeftAndAge()
    {
        var created = DateTimeOffset.UtcNow.AddMinutes(-61).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var ready = JsonNode.Parse(Json(Sandbox("feature-x", "registry/cart:dev", ns: "shop", forks: "[{of: {name: cart}}, {of: {name: checkout}}]", extra: "  ttl: 2h")))!.AsObject();
        ready["metadata"]!["creationTimestamp"] = created;
        ready["status"] = JsonNode.Parse("""{"phase": "Pending", "routingKey": "feature-x-7f3k2", "forks": [{"name": "cart", "ready": true}, {"name": "checkout", "ready": false}]}""");
        _api.Put(FakeApiServer.Sandboxes, ready);
        var fresh = JsonNode.Parse(Json(Sandbox("feature-y", null, ns: "shop")))!.AsObject();
        _api.Put(FakeApiServer.Sandboxes, fresh);

        var (code, table, stderr) = await Sandboxctl("sbx", "list", "--no-color");
        var (jsonCode, json, _) = await Sandboxctl("sbx", "ls", "-o", "json");
        var (emptyCode, empty, _) = await Sandboxctl("sbx", "list", "-n", "nobody");

        var rows = table.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That((code, jsonCode, emptyCode), Is.EqualTo((0, 0, 0)), stderr);
            Assert.That(rows.Single(r => r.Contains("NAME", StringComparison.Ordinal)), Does.Contain("KEY").And.Contain("PHASE").And.Contain("FORKS").And.Contain("EXPIRES IN").And.Contain("AGE"));
            Assert.That(Cells(rows.Single(r => r.Contains("feature-x", StringComparison.Ordinal))), Is.EqualTo(new[] { "feature-x", "feature-x-7f3k2", "Pending", "1/2", "58m", "61m" }), "ttl 2h, created 61 minutes ago");
            Assert.That(Cells(rows.Single(r => r.Contains("feature-y", StringComparison.Ordinal)))[..5], Is.EqualTo(new[] { "feature-y", "-", "-", "0/1", "-" }));
            Assert.That(Cells(rows.Single(r => r.Contains("feature-y", StringComparison.Ordinal)))[5], Does.Match(@"^(-|\d+s)$"), "no creationTimestamp, or one the server just set");
            Assert.That(JsonNode.Parse(json)!.AsArray().Select(i => (string?)i!["metadata"]!["name"]), Is.EquivalentTo(new[] { "feature-x", "feature-y" }));
            Assert.That(empty, Is.EqualTo("No Sandboxes in namespace nobody.\n"));
        });
    }

    [Test]
    public async Task GetDelete_ExistingThenMissing_BehaveLikeKubectl()
    {
        await Sandboxctl("sandbox", "create", "feature-x", "--fork", "cart=registry/cart:dev");

        var (yamlCode, yaml, _) = await Sandboxctl("sandbox", "get", "feature-x");
        var (jsonCode, json, _) = await Sandboxctl("sbx", "get", "feature-x", "-o", "json");
        var (deleteCode, deleted, _) = await Sandboxctl("sandbox", "delete", "feature-x");
        var (goneCode, _, gone) = await Sandboxctl("sandbox", "get", "feature-x");
        var (deleteAgainCode, _, deleteAgain) = await Sandboxctl("sandbox", "delete", "feature-x");

        Assert.Multiple(() =>
        {
            Assert.That((yamlCode, jsonCode, deleteCode), Is.EqualTo((0, 0, 0)));
            Assert.That(yaml, Does.Contain("kind: Sandbox").And.Contain("image: registry/cart:dev"));
            Assert.That((string?)JsonNode.Parse(json)!["spec"]!["forks"]![0]!["of"]!["name"], Is.EqualTo("cart"));
            Assert.That(deleted, Is.EqualTo("sandbox.sandboxctl.io/feature-x deleted\n"));
            Assert.That(_api.Get(FakeApiServer.Sandboxes, "shop", "feature-x"), Is.Null);
            Assert.That((goneCode, deleteAgainCode), Is.EqualTo((ExitCodes.UserError, ExitCodes.UserError)));
            Assert.That(gone, Does.StartWith("error: Sandbox shop/feature-x not found.").And.Contain("hint: List them with: sandboxctl sandbox list"));
            Assert.That(deleteAgain, Does.StartWith("error: Sandbox shop/feature-x not found."));
        });
    }

    [Test]
    public async Task CreateWait_ControllerReportsReady_PrintsTheGeneratedKeyAndHowToUseIt()
    {
        var run = Sandboxctl("sandbox", "create", "feature-x", "--fork", "cart=registry/cart:dev", "--wait", "--timeout", "20s");
        await ExistsAsync("feature-x", generation: 1);
        _api.PatchStatus(FakeApiServer.Sandboxes, "shop", "feature-x", Status(1, "Pending", "feature-x-7f3k2", """[{"name": "cart", "ready": false}]"""));
        _api.PatchStatus(FakeApiServer.Sandboxes, "shop", "feature-x", Status(1, "Ready", "feature-x-7f3k2", """[{"name": "cart", "ready": true}]""", programmed: false));
        await SeenByTheCliAsync();
        Assert.That(run.IsCompleted, Is.False, "forks ready, but the data planes have not ACKed the routes to them yet");
        _api.PatchStatus(FakeApiServer.Sandboxes, "shop", "feature-x", Status(1, "Ready", "feature-x-7f3k2", """[{"name": "cart", "ready": true}]"""));

        var (code, stdout, stderr) = await run.WaitAsync(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stdout, Does.Contain("sandbox.sandboxctl.io/feature-x created"));
            Assert.That(stdout, Does.Contain("Sandbox shop/feature-x is ready. Routing key: feature-x-7f3k2"));
            Assert.That(stdout, Does.Contain("curl -H 'x-routing-key: feature-x-7f3k2' http://cart.shop/"));
            Assert.That(stdout, Does.Contain("baggage: routing-key=feature-x-7f3k2"));
        });
    }

    [Test]
    public async Task CreateWait_AgainstTheRealControllerAndStatusWriter_ReturnsOnceTheForkRunsAndIsProgrammed()
    {
        // The control plane as deployed (--kubernetes): the Sandbox controller forks, the status writer sets Programmed.
        _api.Put(FakeApiServer.Deployments, FakeApiServer.DeploymentObject("shop", "cart", "registry/cart:1"));
        var service = FakeApiServer.ServiceObject("shop", "cart");
        service["spec"]!["selector"] = new JsonObject { ["app"] = "cart" };
        _api.Put(FakeApiServer.Services, service);
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer()
            .WithLog(_log)
            .With("Kubernetes:Enabled", true)
            .With("Kubernetes:Kubeconfig", _cli.DefaultKubeconfig)
            .Create();
        await host.StartAsync(cancel.Token);

        var run = Sandboxctl("sandbox", "create", "feature-x", "--fork", "cart=registry/cart:dev", "--wait", "--timeout", "30s");
        var clock = Stopwatch.StartNew();
        while (_api.Get(FakeApiServer.Deployments, "shop", "cart-feature-x") is null)
        {
            Assert.That(clock.Elapsed, Is.LessThan(Timeout), "the controller made no fork Deployment");
            await Task.Delay(20, cancel.Token);
        }

        await SeenByTheCliAsync();
        Assert.That(run.IsCompleted, Is.False, "the fork's pods are not ready yet");
        _api.SetDeploymentReady("shop", "cart-feature-x", ready: true);   // what the kubelet and the Deployment controller would report
        var (code, stdout, stderr) = await run.WaitAsync(Timeout);
        await host.StopAsync(cancel.Token);

        var status = _api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!["status"]!;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That((string?)status["routingKey"], Does.Match("^feature-x-[a-z0-9]{6}$"), "the controller's generated key");
            Assert.That(stdout, Does.Contain($"Sandbox shop/feature-x is ready. Routing key: {status["routingKey"]}"));
            Assert.That(stdout, Does.Contain($"curl -H 'x-routing-key: {status["routingKey"]}' http://cart.shop/"));
            Assert.That((string?)status["phase"], Is.EqualTo("Ready"));
            Assert.That(status["conditions"]!.AsArray().Select(c => $"{c!["type"]}={c["status"]}"), Is.SupersetOf(new[] { "Ready=True", "Programmed=True" }));
        });
    }

    [Test]
    public async Task ApplyWait_ReadyStatusOfAnOlderGeneration_WaitsForTheAppliedOne()
    {
        await Sandboxctl("sandbox", "apply", "-f", _cli.Write("v1.yaml", Sandbox("feature-x", "registry/cart:v1")));
        _api.PatchStatus(FakeApiServer.Sandboxes, "shop", "feature-x", Status(1, "Ready", "old-key", """[{"name": "cart", "ready": true}]"""));

        var run = Sandboxctl("sandbox", "apply", "-f", _cli.Write("v2.yaml", Sandbox("feature-x", "registry/cart:v2")), "--wait", "--timeout", "20s");
        await ExistsAsync("feature-x", generation: 2);
        _api.PatchStatus(FakeApiServer.Sandboxes, "shop", "feature-x", Status(2, "Ready", "new-key", """[{"name": "cart", "ready": true}]"""));

        var (code, stdout, stderr) = await run.WaitAsync(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stdout, Does.Contain("sandbox.sandboxctl.io/feature-x configured"));
            Assert.That(stdout, Does.Contain("Routing key: new-key").And.Not.Contain("old-key"));
        });
    }

    [TestCase("""[{"name": "cart", "ready": false, "message": "image registry/cart:nope cannot be pulled"}]""", "[]", "fork cart: image registry/cart:nope cannot be pulled")]
    [TestCase("[]", """[{"type": "Ready", "status": "False", "reason": "DeploymentMissing", "message": "Deployment shop/cart does not exist"}]""", "Ready: Deployment shop/cart does not exist")]
    public async Task CreateWait_ControllerReportsFailed_ExitsOneWithTheMessage(string forks, string conditions, string expected)
    {
        var run = Sandboxctl("sandbox", "create", "feature-x", "--fork", "cart=registry/cart:nope", "--wait", "--timeout", "20s");
        await ExistsAsync("feature-x", generation: 1);
        var status = Status(1, "Failed", "feature-x-7f3k2", forks);
        status["conditions"] = JsonNode.Parse(conditions);
        _api.PatchStatus(FakeApiServer.Sandboxes, "shop", "feature-x", status);

        var (code, _, stderr) = await run.WaitAsync(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.StartWith($"error: Sandbox shop/feature-x failed: {expected}").And.Contain("hint:"));
        });
    }

    [Test]
    public async Task CreateWait_NoController_TimesOutWithExitTwo()
    {
        var (code, stdout, stderr) = await Sandboxctl("sandbox", "create", "feature-x", "--fork", "cart", "--wait", "--timeout", "1s").WaitAsync(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.ConnectionError));
            Assert.That(stdout, Does.Contain("sandbox.sandboxctl.io/feature-x created"));
            Assert.That(stderr, Does.StartWith("error: Sandbox shop/feature-x was not ready within 1 s.").And.Contain("hint:"));
        });
    }

    [TestCase("list")]
    [TestCase("create")]
    public async Task Command_UnreachableCluster_ExitsTwo(string command)
    {
        string[] args = command == "create" ? ["sandbox", "create", "feature-x", "--fork", "cart"] : ["sandbox", command];

        var (code, _, stderr) = await Sandboxctl([.. args, "--kubeconfig", _cli.Kubeconfig(new Uri("http://127.0.0.1:1"))]);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.ConnectionError));
            Assert.That(stderr, Does.StartWith("error: cannot reach the cluster").And.Contain("hint:"));
        });
    }

    [Test]
    public async Task RealProcess_CreateThenGetMissing_ExitCodesAndOutput()
    {
        var kubeconfig = _cli.Kubeconfig(_api.Url);

        var (code, stdout, stderr) = await CliHarness.RunProcessAsync("sbx", "create", "feature-x", "--fork", "cart=registry/cart:dev", "--kubeconfig", kubeconfig);
        var (missingCode, _, missing) = await CliHarness.RunProcessAsync("sbx", "get", "nope", "--kubeconfig", kubeconfig);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stdout, Is.EqualTo("sandbox.sandboxctl.io/feature-x created\n"));
            Assert.That((string?)_api.Get(FakeApiServer.Sandboxes, "shop", "feature-x")!["spec"]!["forks"]![0]!["image"], Is.EqualTo("registry/cart:dev"));
            Assert.That(missingCode, Is.EqualTo(ExitCodes.UserError));
            Assert.That(missing, Does.StartWith("error: Sandbox shop/nope not found."));
        });
    }

    private Task<(int Code, string Stdout, string Stderr)> Sandboxctl(params string[] args) => _cli.RunAsync(args);

    /// <summary>Waits until the CLI has written the Sandbox with <paramref name="generation"/>, as a controller's watch would see it.</summary>
    private async Task ExistsAsync(string name, long generation)
    {
        var clock = Stopwatch.StartNew();
        while ((long?)_api.Get(FakeApiServer.Sandboxes, "shop", name)?["metadata"]?["generation"] != generation)
        {
            Assert.That(clock.Elapsed, Is.LessThan(Timeout), $"sandbox {name} generation {generation} was not written");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Returns once the CLI has fetched the Sandbox three more times: the second of those started after this call and
    /// saw the current status, and the third shows the CLI looked at it and kept waiting.
    /// </summary>
    private async Task SeenByTheCliAsync()
    {
        const string Get = "sandboxctl.io/sandboxes:get";
        var before = _api.RequestCount(Get);
        var clock = Stopwatch.StartNew();
        while (_api.RequestCount(Get) < before + 3)
        {
            Assert.That(clock.Elapsed, Is.LessThan(Timeout), "the CLI stopped polling the Sandbox");
            await Task.Delay(20);
        }
    }

    private static JsonObject Status(long observedGeneration, string phase, string routingKey, string forks, bool programmed = true) => new()
    {
        ["observedGeneration"] = observedGeneration,
        ["phase"] = phase,
        ["routingKey"] = routingKey,
        ["forks"] = JsonNode.Parse(forks),
        ["conditions"] = new JsonArray(new JsonObject
        {
            ["type"] = "Programmed",
            ["status"] = programmed ? "True" : "False",
            ["reason"] = programmed ? "Programmed" : "Pending",
            ["observedGeneration"] = observedGeneration,
        }),
    };

    private static string[] Cells(string row) => row.Split(['│', '|'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static string Json(string yaml) => XdsControlPlane.Model.YamlJson.Convert(yaml)!.ToJsonString();

    private static string Sandbox(string name, string? image, string? ns = null, string? forks = null, string extra = "") => $$"""
        apiVersion: sandboxctl.io/v1alpha1
        kind: Sandbox
        metadata: {name: {{name}}{{(ns is null ? "" : $", namespace: {ns}")}}}
        spec:
          forks: {{forks ?? (image is null ? "[{of: {name: cart}}]" : $"[{{of: {{name: cart}}, image: '{image}'}}]")}}
        {{extra}}

        """;
}
