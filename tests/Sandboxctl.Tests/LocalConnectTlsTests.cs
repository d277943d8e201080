using XdsControlPlane.Server;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl local connect</c> as a real process to a broker that serves TLS and requires client certificates
/// (<c>Tunnel:Tls</c> on real files, certificates made in the test by a throwaway CA): with <c>--ca-file</c>,
/// <c>--cert-file</c> and <c>--key-file</c> the agent connects and keyed HTTP reaches the laptop through the tunnel;
/// without a client certificate, or trusting another CA, it exits 2 naming the broker; with a client certificate of
/// another namespace than the LocalWorkload's, it exits 1 with the broker's refusal naming both.
/// </summary>
public sealed class LocalConnectTlsTests
{
    private readonly HostLog _log = new();
    private readonly TestDisposables _disposables = new();
    private TestCertificateAuthority _ca = null!;
    private string _directory = "";
    private string _state = "";
    private string _tls = "";

    [SetUp]
    public void CreateDirectories()
    {
        _log.Clear();
        _ca = new TestCertificateAuthority();
        _directory = Directory.CreateTempSubdirectory("local-tls-manifests-").FullName;
        _state = Directory.CreateTempSubdirectory("local-tls-state-").FullName;
        _tls = Directory.CreateTempSubdirectory("local-tls-files-").FullName;
        var server = _ca.Server("tunnel broker");
        var client = _ca.Client("spiffe://cluster.local/ns/shop/sa/laptop", "laptop");
        var other = _ca.Client("spiffe://cluster.local/ns/dev/sa/laptop", "laptop of dev");
        File.WriteAllText(Path.Combine(_tls, "ca.crt"), _ca.CaPem);
        File.WriteAllText(Path.Combine(_tls, "tls.crt"), server.ChainPem);
        File.WriteAllText(Path.Combine(_tls, "tls.key"), server.KeyPem);
        File.WriteAllText(Path.Combine(_tls, "client.crt"), client.ChainPem);
        File.WriteAllText(Path.Combine(_tls, "client.key"), client.KeyPem);
        File.WriteAllText(Path.Combine(_tls, "dev.crt"), other.ChainPem);
        File.WriteAllText(Path.Combine(_tls, "dev.key"), other.KeyPem);
        File.WriteAllText(Path.Combine(_directory, "shop.yaml"), """
            apiVersion: v1
            kind: Service
            metadata: {name: cart, namespace: shop}
            spec:
              ports:
              - {name: http, port: 8080}
            """);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _disposables.DisposeAllAsync();
        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
        Directory.Delete(_state, recursive: true);
        Directory.Delete(_tls, recursive: true);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task Connect_WithCaAndClientCertificate_ReachesTheTlsBroker_AndKeyedHttpReachesTheLaptop()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var host = await StartHostAsync();

        var agent = _disposables.Track(LocalAgentProcess.Start(
            _state, "local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{laptop.Port}:8080",
            "--server", $"127.0.0.1:{host.TunnelPort}", "--ca-file", Path.Combine(_tls, "ca.crt"),
            "--cert-file", Path.Combine(_tls, "client.crt"), "--key-file", Path.Combine(_tls, "client.key"), "--name", "cart-dev", "-n", "shop", "-o", "json"));
        var connected = await agent.NextAsync("connected");
        var endpoint = (string)connected["endpoints"]![0]!["endpoint"]!;
        var brokerPort = int.Parse(endpoint.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        var inbound = await LocalHttpEcho.GetAsync(brokerPort, "/cart", "x-routing-key: feature-x");

        Assert.That(inbound, Does.StartWith("laptop\nGET /cart HTTP/1.1"));
        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
        Assert.That(agent.Stdout + agent.Stderr, Does.Not.Contain("PRIVATE KEY"));
    }

    [TestCase(false, TestName = "Connect_WithoutClientCertificate_ExitsTwoNamingTheBroker")]
    [TestCase(true, TestName = "Connect_TrustingAnotherCa_ExitsTwoNamingTheBroker")]
    public async Task Connect_RefusedAtTheHandshake_ExitsTwo(bool otherCa)
    {
        using var laptop = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        laptop.Start();
        var host = await StartHostAsync();
        var caFile = Path.Combine(_tls, "ca.crt");
        string[] client = [];
        if (otherCa)
        {
            using var other = new TestCertificateAuthority("another CA");
            caFile = Path.Combine(_tls, "other-ca.crt");
            File.WriteAllText(caFile, other.CaPem);
            client = ["--cert-file", Path.Combine(_tls, "client.crt"), "--key-file", Path.Combine(_tls, "client.key")];
        }

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(
            _state, ["local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{((System.Net.IPEndPoint)laptop.LocalEndpoint).Port}:8080", "--server", $"127.0.0.1:{host.TunnelPort}", "--ca-file", caFile, .. client, "-n", "shop", "--reconnect-delay", "100ms"]);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.ConnectionError), stderr);
            Assert.That(stderr, Does.Contain($"cannot reach the tunnel broker at 127.0.0.1:{host.TunnelPort}"));
        });
    }

    [Test]
    public async Task Connect_ClientCertificateOfAnotherNamespace_ExitsOneWithTheBrokersRefusalNamingBoth()
    {
        using var laptop = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        laptop.Start();
        var host = await StartHostAsync();

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(
            _state, ["local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{((System.Net.IPEndPoint)laptop.LocalEndpoint).Port}:8080", "--server", $"127.0.0.1:{host.TunnelPort}",
                "--ca-file", Path.Combine(_tls, "ca.crt"), "--cert-file", Path.Combine(_tls, "dev.crt"), "--key-file", Path.Combine(_tls, "dev.key"), "--name", "cart-dev", "-n", "shop"]);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain("the tunnel broker refused this agent for shop/cart-dev: the agent for LocalWorkload shop/cart-dev connected as spiffe://cluster.local/ns/dev/sa/laptop, of namespace dev: an agent's client certificate must be of the LocalWorkload's namespace (shop)"));
            Assert.That(stderr, Does.Contain("names the LocalWorkload's namespace (-n)"));
        });
    }

    private async Task<ServerHost> StartHostAsync()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var host = await new InProcessServer()
            .WithLog(_log)
            .WithManifests(_directory)
            .WithListenerTls("Tunnel", _tls, "Required")
            .StartAsync(cancel.Token);
        return _disposables.Track(host);
    }
}
