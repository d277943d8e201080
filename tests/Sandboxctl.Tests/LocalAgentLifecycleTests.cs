using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// The agent's life around its tunnel, as real processes: a second agent the broker refuses leaves the first agent's
/// state file alone; <c>local disconnect</c> never signals a pid that now names another process; the reconnect
/// backoff grows against a broker that welcomes and drops; an agent stopped while reconnecting still says Goodbye.
/// </summary>
public sealed class LocalAgentLifecycleTests
{
    private readonly HostLog _log = new();
    private readonly TestDisposables _disposables = new();
    private string _directory = "";
    private string _state = "";
    private TcpListener _laptop = null!;

    [SetUp]
    public void CreateDirectories()
    {
        _log.Clear();
        _directory = Directory.CreateTempSubdirectory("local-lifecycle-").FullName;
        _state = Directory.CreateTempSubdirectory("local-state-").FullName;
        _laptop = new TcpListener(IPAddress.Loopback, 0);
        _laptop.Start();
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _disposables.DisposeAllAsync();
        _laptop.Dispose();
        Directory.Delete(_directory, recursive: true);
        Directory.Delete(_state, recursive: true);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task Connect_SecondAgentRefused_FirstAgentsStateFileSurvives()
    {
        File.WriteAllText(Path.Combine(_directory, "shop.yaml"), """
            apiVersion: v1
            kind: Service
            metadata: {name: cart, namespace: shop}
            spec:
              ports:
              - {name: http, port: 8080}
            """);
        var host = _disposables.Track(await LocalBrokerHost.StartAsync(_log, manifests: _directory));
        _log.Expect("refused");
        var first = _disposables.Track(LocalAgentProcess.Start(_state, Args($"127.0.0.1:{host.TunnelPort}")));
        await first.NextAsync("connected");

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(_state, Args($"127.0.0.1:{host.TunnelPort}"));
        var (_, status, _) = await LocalAgentProcess.RunAsync(_state, "local", "status", "-o", "json");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain("another agent"));
            var agents = JsonNode.Parse(status)!["agents"]!.AsArray();
            Assert.That(agents.Select(a => (int?)a!["pid"]), Is.EqualTo(new int?[] { first.Pid }), "the first agent's state, still there and still its own");
            Assert.That((string?)agents[0]!["agent"], Is.EqualTo("running"));
        });
        Assert.That(await first.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), first.Stderr);
        Assert.That(Directory.EnumerateFiles(_state), Is.Empty, "the first agent removes its own file");
    }

    [Test]
    public async Task Disconnect_PidReusedByAnotherProcess_NeverSignalsIt()
    {
        using var stranger = Process.Start(new ProcessStartInfo("sleep", "300") { UseShellExecute = false })!;
        File.WriteAllText(Path.Combine(_state, "shop.cart-dev.json"), new JsonObject
        {
            ["pid"] = stranger.Id,
            ["processStart"] = "2001-01-01T00:00:00+00:00",
            ["name"] = "cart-dev",
            ["namespace"] = "shop",
            ["service"] = "cart",
            ["mode"] = "manifests",
            ["server"] = "127.0.0.1:1",
        }.ToJsonString());
        try
        {
            var (_, status, _) = await LocalAgentProcess.RunAsync(_state, "local", "status", "-o", "json");
            var (refusedCode, _, refused) = await LocalAgentProcess.RunAsync(_state, "local", "disconnect", "cart-dev");
            var (forcedCode, forced, forcedErrors) = await LocalAgentProcess.RunAsync(_state, "local", "disconnect", "cart-dev", "--force");

            Assert.Multiple(() =>
            {
                Assert.That((string?)JsonNode.Parse(status)!["agents"]![0]!["agent"], Is.EqualTo("gone"));
                Assert.That(refusedCode, Is.EqualTo(ExitCodes.UserError));
                Assert.That(refused, Does.Contain("is gone").And.Contain($"pid {stranger.Id} belongs to another process now"));
                Assert.That(forcedCode, Is.EqualTo(ExitCodes.Ok), forcedErrors);
                Assert.That(forced, Does.Contain("removed the state of shop/cart-dev"));
                Assert.That(stranger.HasExited, Is.False, "the process that has the pid now was neither signalled nor killed");
                Assert.That(Directory.EnumerateFiles(_state), Is.Empty);
            });
        }
        finally
        {
            stranger.Kill();
        }
    }

    [Test]
    public async Task Reconnect_BrokerWelcomesThenDrops_BackoffKeepsGrowing()
    {
        var broker = _disposables.Track(await FakeTunnelBroker.StartAsync());
        var agent = _disposables.Track(LocalAgentProcess.Start(_state, [.. Args(broker.Address), "--reconnect-delay", "10ms"]));

        var reconnecting = new List<JsonObject>();
        for (var i = 0; i < 6; i++)
        {
            reconnecting.Add(await agent.NextAsync("reconnecting"));
        }

        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
        var events = agent.Stdout.Split('\n').Count(line => line.Contains("\"event\":\"reconnecting\"", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(reconnecting.Select(r => (int?)r["attempt"]), Is.EqualTo(new int?[] { 1, 2, 3, 4, 5, 6 }), "a Welcome that does not last does not start the backoff over");
            Assert.That((double)reconnecting[5]["delaySeconds"]!, Is.GreaterThan((double)reconnecting[0]["delaySeconds"]!));
            Assert.That(broker.Dials, Is.LessThanOrEqualTo(events + 2), "one dial per announced attempt (plus the first, and the Goodbye attempt on stop)");
        });
    }

    [Test]
    public async Task Stop_WhileReconnecting_SaysGoodbye()
    {
        var broker = _disposables.Track(await FakeTunnelBroker.StartAsync());
        var agent = _disposables.Track(LocalAgentProcess.Start(_state, [.. Args(broker.Address), "--reconnect-delay", "1m"]));
        await agent.NextAsync("connected");
        await agent.NextAsync("reconnecting");

        // The broker is back (and keeps streams) while the agent waits out its delay; the developer stops the agent.
        broker.DropAfterWelcome = false;
        var code = await agent.TerminateAsync();
        var disconnected = await agent.NextAsync("disconnected");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), agent.Stderr);
            Assert.That(broker.Goodbyes, Is.EqualTo(1), "one short attempt carried the Goodbye");
            Assert.That((string?)disconnected["reason"], Is.EqualTo("stopped; the broker withdrew the routes"));
        });
    }

    [Test]
    public async Task Connect_EnvFileWithManifestsModeBroker_ExitsOneSayingWhy()
    {
        var broker = _disposables.Track(await FakeTunnelBroker.StartAsync());
        var file = Path.Combine(_directory, "cart.env");

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(_state, [.. Args(broker.Address), "--env-file", file]);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain("--env-file reads a pod of the Service from the cluster").And.Contain("runs in manifests mode"));
            Assert.That(File.Exists(file), Is.False);
            Assert.That(broker.Dials, Is.Zero, "refused before any tunnel");
        });
    }

    [Test]
    public async Task Render_LocalWorkloadExposeTargetTooLong_NamesTheFieldAndLength()
    {
        var target = new string('a', 10_000);
        var manifest = Path.Combine(_directory, "laptop.yaml");
        File.WriteAllText(manifest, $$"""
            apiVersion: v1
            kind: Service
            metadata: {name: cart, namespace: shop}
            spec:
              ports:
              - {name: http, port: 8080}
            ---
            apiVersion: sandboxctl.io/v1alpha1
            kind: LocalWorkload
            metadata: {name: laptop, namespace: shop}
            spec: {routingKey: bob, service: cart, ports: [{port: 8080}], expose: [{service: orders.billing}, {service: {{target}}}]}
            """);

        var (code, _, stderr) = await CliHarness.RunInProcessAsync("render", "-f", manifest);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain("spec.expose[1].service: at most 127 characters (name.namespace), got 10000"));
            Assert.That(stderr, Does.Not.Contain(target), "not echoed");
        });
    }

    private string[] Args(string server) =>
        ["local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{((IPEndPoint)_laptop.LocalEndpoint).Port}:8080", "--server", server, "--name", "cart-dev", "-n", "shop", "-o", "json"];
}
