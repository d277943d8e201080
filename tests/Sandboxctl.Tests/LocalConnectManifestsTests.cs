using System.Net.Sockets;
using System.Text.Json.Nodes;
using XdsControlPlane.Server;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl local connect</c> as a real process against an in-process server in manifests mode (the broker
/// inside, <c>--server</c> to its tunnel port): keyed HTTP sent to the broker endpoint the Welcome names reaches the
/// laptop's server; <c>--expose</c> reaches the baseline backend with the routing key added; SIGTERM says Goodbye and
/// exits 0; <c>--force</c> takes a live workload over; bad input fails loudly with a clear error and exit code.
/// </summary>
public sealed class LocalConnectManifestsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly HostLog _log = new();
    private readonly TestDisposables _disposables = new();
    private string _directory = "";
    private string _state = "";

    [SetUp]
    public void CreateDirectories()
    {
        _log.Clear();
        _directory = Directory.CreateTempSubdirectory("local-manifests-").FullName;
        _state = Directory.CreateTempSubdirectory("local-state-").FullName;
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _disposables.DisposeAllAsync();
        Directory.Delete(_directory, recursive: true);
        Directory.Delete(_state, recursive: true);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task Connect_KeyedHttpAndExpose_ReachTheLaptopAndTheBackendWithTheKey_SigtermCleansUp()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var orders = _disposables.Track(new LocalHttpEcho("orders-baseline"));
        var host = await StartHostAsync(orders.Port);
        var expose = FreePort.Next();

        var agent = _disposables.Track(LocalAgentProcess.Start(
            _state, "local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{laptop.Port}:8080",
            "--expose", $"orders:8080={expose}", "--server", $"127.0.0.1:{host.TunnelPort}", "--name", "cart-dev", "-n", "shop", "-o", "json"));
        var connected = await agent.NextAsync("connected");
        var endpoint = (string)connected["endpoints"]![0]!["endpoint"]!;
        var brokerPort = int.Parse(endpoint.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);

        var inbound = await LocalHttpEcho.GetAsync(brokerPort, "/cart", "x-routing-key: feature-x");
        var outbound = await LocalHttpEcho.GetAsync(expose, "/orders");
        var (statusCode, status, _) = await LocalAgentProcess.RunAsync(_state, "local", "status", "-o", "json");

        Assert.Multiple(() =>
        {
            Assert.That((string?)connected["routingKey"], Is.EqualTo("feature-x"));
            Assert.That((string?)connected["endpoints"]![0]!["protocol"], Is.EqualTo("http"));
            Assert.That(inbound, Does.StartWith("laptop\nGET /cart HTTP/1.1"));
            Assert.That(outbound, Does.StartWith("orders-baseline\nGET /orders HTTP/1.1"));
            Assert.That(outbound, Does.Contain("x-routing-key: feature-x\r\n"));
            Assert.That(statusCode, Is.EqualTo(ExitCodes.Ok));
            var agents = JsonNode.Parse(status)!["agents"]!.AsArray();
            Assert.That(agents.Select(a => (string?)a!["name"]), Is.EqualTo(new[] { "cart-dev" }));
            Assert.That((string?)agents[0]!["agent"], Is.EqualTo("running"));
            Assert.That((int?)agents[0]!["pid"], Is.EqualTo(agent.Pid));
        });

        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
        Assert.Multiple(() =>
        {
            Assert.That(agent.Stdout, Does.Contain("\"event\":\"disconnected\""));
            Assert.That(Directory.EnumerateFiles(_state), Is.Empty, "the state file is removed");
        });
        await AssertRefusedAsync(brokerPort);
    }

    [TestCase("nope", 8080, null, "nope", TestName = "Connect_UnknownService_ExitsOneNamingIt")]
    [TestCase("cart", 7777, null, "7777", TestName = "Connect_UnknownServicePort_ExitsOneNamingIt")]
    [TestCase("cart", 8080, "s3cret", "needs a token", TestName = "Connect_TokenRequiredButMissing_ExitsOneAskingForIt")]
    public async Task Connect_Refused_ExitsOneWithAClearError(string service, int remotePort, string? token, string message)
    {
        using var laptop = new TcpListener(System.Net.IPAddress.Loopback, 0);
        laptop.Start();
        var host = await StartHostAsync(1, token);
        _log.Expect("refused");

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(
            _state, "local", "connect", "--routing-key", "feature-x", "--service", service, "--port", $"{((System.Net.IPEndPoint)laptop.LocalEndpoint).Port}:{remotePort}",
            "--server", $"127.0.0.1:{host.TunnelPort}", "-n", "shop");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain("error: ").And.Contain(message));
            Assert.That(stderr, Does.Contain("hint: "));
        });
    }

    [Test]
    public async Task Connect_BrokerUnreachable_ExitsTwoNamingTheAddress()
    {
        using var laptop = new TcpListener(System.Net.IPAddress.Loopback, 0);
        laptop.Start();
        var nobody = FreePort.Next();

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(
            _state, "local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{((System.Net.IPEndPoint)laptop.LocalEndpoint).Port}:8080",
            "--server", $"127.0.0.1:{nobody}", "-n", "shop");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.ConnectionError), stderr);
            Assert.That(stderr, Does.Contain($"cannot reach the tunnel broker at 127.0.0.1:{nobody}"));
        });
    }

    [Test]
    public async Task Connect_Force_TakesTheWorkloadOverFromALiveAgent_WhichIsRefusedFromThenOn()
    {
        var one = _disposables.Track(new LocalHttpEcho("laptop-one"));
        var two = _disposables.Track(new LocalHttpEcho("laptop-two"));
        var host = await StartHostAsync(1);
        _log.Expect("Refused an agent");
        var otherState = Directory.CreateTempSubdirectory("local-state-other-").FullName;
        string[] Args(int port, params string[] more) =>
            ["local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{port}:8080", "--server", $"127.0.0.1:{host.TunnelPort}", "--name", "cart-dev", "-n", "shop", "-o", "json", .. more];

        try
        {
            var holder = _disposables.Track(LocalAgentProcess.Start(_state, Args(one.Port)));
            var held = await holder.NextAsync("connected");
            var (refusedCode, _, refused) = await LocalAgentProcess.RunAsync(otherState, Args(two.Port));

            var forcing = _disposables.Track(LocalAgentProcess.Start(otherState, Args(two.Port, "--force")));
            var forced = await forcing.NextAsync("connected");
            var endpoint = (string)forced["endpoints"]![0]!["endpoint"]!;
            var answer = await LocalHttpEcho.GetAsync(int.Parse(endpoint.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture), "/cart", "x-routing-key: feature-x");
            var holderCode = await holder.ExitCodeAsync();

            Assert.Multiple(() =>
            {
                Assert.That(refusedCode, Is.EqualTo(ExitCodes.UserError), refused);
                Assert.That(refused, Does.Contain("another agent is connected").And.Contain("--force"));
                Assert.That(endpoint, Is.EqualTo((string?)held["endpoints"]![0]!["endpoint"]), "the same broker endpoint");
                Assert.That(answer, Does.StartWith("laptop-two\nGET /cart"), "keyed requests reach the agent that forced");
                Assert.That(holderCode, Is.EqualTo(ExitCodes.UserError), holder.Stderr);
                Assert.That(holder.Stderr, Does.Contain("was taken over by another agent"));
            });
            Assert.That(await forcing.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), forcing.Stderr);
        }
        finally
        {
            Directory.Delete(otherState, recursive: true);
        }
    }

    /// <summary>After Goodbye the broker's listener for the workload closes (or refuses what it accepts).</summary>
    private static async Task AssertRefusedAsync(int brokerPort)
    {
        try
        {
            var answer = await LocalHttpEcho.GetAsync(brokerPort, "/cart", "x-routing-key: feature-x").WaitAsync(Patience);
            Assert.That(answer, Does.Not.StartWith("laptop"));
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            // Refused or closed: the workload is gone.
        }
    }

    private async Task<ServerHost> StartHostAsync(int ordersPort, string? token = null)
    {
        File.WriteAllText(Path.Combine(_directory, "shop.yaml"), $$"""
            apiVersion: v1
            kind: Service
            metadata: {name: cart, namespace: shop}
            spec:
              ports:
              - {name: http, port: 8080}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: orders, namespace: shop}
            spec:
              ports:
              - {name: http, port: 8080}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: orders-1, namespace: shop, labels: {kubernetes.io/service-name: orders} }
            addressType: IPv4
            ports: [{name: http, port: {{ordersPort}}}]
            endpoints:
            - {addresses: [127.0.0.1], conditions: {ready: true} }
            """);
        var host = await LocalBrokerHost.StartAsync(_log, manifests: _directory, token: token);
        _disposables.Track(host);
        return host;
    }
}
