using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl local connect</c> as a real process in Kubernetes mode: the fake API server holds the Services and the
/// LocalWorkload the agent creates, and port-forwards the control-plane pod's broker port to the in-process server
/// (the broker inside, reading the same fake cluster). Keyed HTTP to the Welcome's endpoint reaches the laptop; a cut
/// port-forward is reconnected and traffic flows again; SIGTERM deletes the LocalWorkload; kill -9 leaves it for
/// <c>local disconnect --force</c>.
/// </summary>
public sealed partial class LocalConnectKubernetesTests
{
    private const string ControlPlane = "sandboxctl-system";
    private const string ControlPlanePod = "xds-control-plane-0";

    private readonly HostLog _log = new();
    private readonly TestDisposables _disposables = new();
    private FakeApiServer _api = null!;
    private CliHarness _cli = null!;
    private string _kubeconfig = "";
    private string _state = "";

    [SetUp]
    public async Task StartAsync()
    {
        _log.Clear();
        _api = await FakeApiServer.StartAsync();
        _cli = new CliHarness();
        _kubeconfig = _cli.Kubeconfig(_api.Url);
        _state = Directory.CreateTempSubdirectory("local-state-").FullName;
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("billing", "orders"));
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _disposables.DisposeAllAsync();
        await _api.DisposeAsync();
        _cli.Dispose();
        Directory.Delete(_state, recursive: true);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task Connect_ThroughPortForward_KeyedHttpReachesLaptop_ReconnectsAfterCut_SigtermDeletesTheWorkload()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        await StartHostAsync();
        var agent = Start("--port", $"{laptop.Port}:8080", "--expose", $"orders.billing:8080={FreePort.Next()}");

        var connected = await agent.NextAsync("connected");
        var created = _api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev");
        var first = await LocalHttpEcho.GetAsync(BrokerPort(connected), "/one", "x-routing-key: feature-x");

        var cut = System.Diagnostics.Stopwatch.StartNew();
        _api.ClosePortForwards(ControlPlane, ControlPlanePod);
        var reconnecting = await agent.NextAsync("reconnecting");
        var reconnected = await agent.NextAsync("connected");
        var second = await LocalHttpEcho.GetAsync(BrokerPort(reconnected), "/two", "x-routing-key: feature-x");
        await TestContext.Out.WriteLineAsync($"keyed traffic flowed again {cut.Elapsed.TotalSeconds:0.00} s after the port-forward was cut");

        Assert.Multiple(() =>
        {
            Assert.That((string?)created?["spec"]?["secretHash"], Does.Match("^sha256:[0-9a-f]{64}$"));
            Assert.That((string?)created?["spec"]?["routingKey"], Is.EqualTo("feature-x"));
            Assert.That((string?)created?["spec"]?["ports"]?[0]?["protocol"], Is.EqualTo("http"));
            Assert.That((string?)created?["spec"]?["expose"]?[0]?["service"], Is.EqualTo("orders.billing"));
            Assert.That(first, Does.StartWith("laptop\nGET /one"));
            Assert.That((int?)reconnecting["attempt"], Is.EqualTo(1));
            Assert.That((bool?)reconnected["reconnected"], Is.True);
            Assert.That((string?)reconnected["routingKey"], Is.EqualTo("feature-x"), "the same workload and key");
            Assert.That(second, Does.StartWith("laptop\nGET /two"));
            Assert.That(_api.PortForwardRequests, Has.Count.GreaterThanOrEqualTo(2));
        });

        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
        Assert.That(_api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev"), Is.Null, "SIGTERM deletes the LocalWorkload");
    }

    [Test]
    public async Task Connect_Preview_TheWorkloadCarriesIt_TheGatewayServesItsHost_JsonNamesTheUrl()
    {
        const string domain = "preview.example.com";
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var host = await StartHostAsync(domain);
        var expected = XdsControlPlane.Model.PreviewHostNames.Host(XdsControlPlane.Model.LocalWorkload.KindName, "shop", "cart-dev", "cart", 8080, "", domain);
        var agent = Start("--port", $"{laptop.Port}:8080", "--preview", "8080:personal");

        var connected = await agent.NextAsync("connected");
        var created = _api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var served = await GatewayRouteWatch.WaitAsync(host.XdsPort, expected, present: true, timeout.Token);

        Assert.Multiple(() =>
        {
            Assert.That(created?["spec"]?["previews"]?.ToJsonString(), Is.EqualTo("""[{"port":8080,"access":"personal"}]"""), "created with the user's credentials, previews and all");
            Assert.That((string?)connected["previews"]?[0]?["url"], Is.EqualTo($"https://{expected}/"));
            Assert.That((string?)connected["previews"]?[0]?["access"], Is.EqualTo("personal"));
            Assert.That(served!.Routes.Single().Route_.Cluster, Is.EqualTo("local|8080||cart-dev.shop"));
        });
        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
    }

    [Test]
    public async Task Kill9_LeavesTheWorkload_StatusSaysGone_DisconnectForceCleansUp()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        await StartHostAsync();
        var agent = Start("--port", $"{laptop.Port}:8080");
        await agent.NextAsync("connected");

        await agent.KillAsync();
        var (statusCode, status, statusErrors) = await LocalAgentProcess.RunAsync(_state, "local", "status", "-o", "json");
        var (refusedCode, _, refused) = await LocalAgentProcess.RunAsync(_state, "local", "disconnect", "cart-dev");
        var (forcedCode, forced, forcedErrors) = await LocalAgentProcess.RunAsync(_state, "local", "disconnect", "cart-dev", "--force");

        Assert.Multiple(() =>
        {
            Assert.That(statusCode, Is.EqualTo(ExitCodes.Ok), statusErrors);
            var row = JsonNode.Parse(status)!["agents"]![0]!;
            Assert.That((string?)row["agent"], Is.EqualTo("gone"));
            Assert.That((string?)row["cluster"]?["phase"], Is.Not.Null.And.Not.EqualTo("NotFound"));
            Assert.That(refusedCode, Is.EqualTo(ExitCodes.UserError));
            Assert.That(refused, Does.Contain("is gone").And.Contain("--force"));
            Assert.That(forcedCode, Is.EqualTo(ExitCodes.Ok), forcedErrors);
            Assert.That(forced, Does.Contain("deleted LocalWorkload shop/cart-dev"));
            Assert.That(_api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev"), Is.Null);
            Assert.That(Directory.EnumerateFiles(_state), Is.Empty);
        });
    }

    [Test]
    public async Task Connect_WorkloadHeldByAnother_RefusedWithItsStateUnlessForce()
    {
        using var laptop = Listening(out var port);
        _api.Put(FakeApiServer.LocalWorkloads, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "LocalWorkload",
            ["metadata"] = new JsonObject { ["name"] = "cart-dev", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["routingKey"] = "other", ["service"] = "cart", ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }) },
            ["status"] = new JsonObject { ["phase"] = "Connected" },
        });
        await StartHostAsync();

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(_state, Args("--port", $"{port}:8080"));

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain("LocalWorkload shop/cart-dev already exists (phase "));
            Assert.That(stderr, Does.Contain("--force"));
            Assert.That((string?)_api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev")!["spec"]!["routingKey"], Is.EqualTo("other"), "left alone");
        });
    }

    [TestCase("--service", "nope", "--port", "{0}:8080", "Service shop/nope not found (--service)", TestName = "Connect_UnknownService_ExitsOneNamingIt")]
    [TestCase("--service", "cart", "--port", "{0}:7777", "Service shop/cart has no port 7777 (--port {0}:7777)", TestName = "Connect_UnknownServicePort_ExitsOneListingThePorts")]
    [TestCase("--service", "cart", "--port", "{0}:8080", "Sandbox shop/ghost not found (--sandbox ghost)", "--sandbox", "ghost", TestName = "Connect_UnknownSandbox_ExitsOneNamingIt")]
    public async Task Connect_BadReference_ExitsOneBeforeCreatingAnything(params string[] args)
    {
        using var laptop = Listening(out var port);
        AddControlPlanePod(new IPEndPoint(IPAddress.Loopback, 1));
        var flags = args.Where((_, i) => i != 4).Select(a => string.Format(System.Globalization.CultureInfo.InvariantCulture, a, port)).ToList();
        var message = string.Format(System.Globalization.CultureInfo.InvariantCulture, args[4], port);
        string[] withKey = flags.Contains("--sandbox") ? [.. flags] : [.. flags, "--routing-key", "feature-x"];

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(_state, ["local", "connect", "--name", "cart-dev", "--kubeconfig", _kubeconfig, .. withKey]);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain(message));
            Assert.That(_api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev"), Is.Null);
        });
    }

    private static int BrokerPort(JsonObject connected) =>
        int.Parse(((string)connected["endpoints"]![0]!["endpoint"]!).Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);

    private static TcpListener Listening(out int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        return listener;
    }

    private string[] Args(params string[] more) =>
        ["local", "connect", "--routing-key", "feature-x", "--service", "cart", "--name", "cart-dev", "--kubeconfig", _kubeconfig, "-o", "json", .. more];

    private LocalAgentProcess Start(params string[] more) => _disposables.Track(LocalAgentProcess.Start(_state, Args(more)));

    private void AddControlPlanePod(IPEndPoint broker) => LocalConnectCluster.AddControlPlanePod(_api, broker);

    private async Task<XdsControlPlane.Server.ServerHost> StartHostAsync(string? previewDomain = null)
    {
        var host = await LocalBrokerHost.StartAsync(_log, kubernetesApi: _api.Url, previewDomain: previewDomain);
        _disposables.Track(host);
        AddControlPlanePod(new IPEndPoint(IPAddress.Loopback, host.TunnelPort));
        return host;
    }
}
