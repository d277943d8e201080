using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Server.ListenerTls;
using XdsControlPlane.Sources;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The tunnel agent's identity with mTLS on the broker (<c>Tunnel:Tls</c> from real files, client certificates
/// optional, a throwaway CA): an agent over real TLS whose client certificate's SPIFFE ID is of the LocalWorkload's
/// namespace is served; one of another namespace, another trust domain or without a SPIFFE ID is refused with
/// PERMISSION_DENIED naming both, counted in <c>tunnel_broker_refusals_total{reason="identity"}</c>, and its workload never
/// reaches the pipeline; an agent without a certificate is served as before (the token or secret decides).
/// </summary>
[NonParallelizable]
public sealed partial class TunnelAgentIdentityTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly HostLog _log = new();
    private TestCertificateAuthority _ca = null!;
    private string _manifests = "";
    private string _tls = "";
    private ServerHost? _host;
    private int _session;

    private ServerHost Host => _host!;

    private Model.RoutingInputs? Inputs => Host.Services.GetRequiredService<RoutingInputsStore>().Current;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _ca = new TestCertificateAuthority();
        _manifests = Directory.CreateTempSubdirectory("xdscp-agent-id-").FullName;
        _tls = Directory.CreateTempSubdirectory("xdscp-agent-id-tls-").FullName;
        await File.WriteAllTextAsync(Path.Combine(_manifests, "inventory.yaml"), BrokerAdmissionTests.Inventory);
        var server = _ca.Server("tunnel broker");
        await File.WriteAllTextAsync(Path.Combine(_tls, "tls.crt"), server.ChainPem);
        await File.WriteAllTextAsync(Path.Combine(_tls, "tls.key"), server.KeyPem);
        await File.WriteAllTextAsync(Path.Combine(_tls, "ca.crt"), _ca.CaPem);
        using var cancel = new CancellationTokenSource(Timeout);
        _host = await new InProcessServer()
            .WithManifests(_manifests)
            .WithLog(_log)
            .WithListenerTls("Tunnel", _tls, "Optional")
            .With("Sources:Debounce", TimeSpan.FromMilliseconds(20))
            .StartAsync(cancel.Token);
        await Eventually.WaitAsync(() => Inputs?.FindService("shop", "echo") is not null, "the inventory to load");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync(); // stops it first
        }

        _ca.Dispose();
        Directory.Delete(_manifests, recursive: true);
        Directory.Delete(_tls, recursive: true);
    }

    [SetUp]
    public void ClearLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    [Test]
    public async Task AgentCertifiedForTheWorkloadsNamespace_IsServed_OverTls()
    {
        using var client = TestCertificateAuthority.Load(_ca.Client("spiffe://cluster.local/ns/shop/sa/laptop"));

        await using var agent = await ConnectAsync("own", client);
        await Eventually.WaitAsync(() => Inputs?.FindLocalWorkload("shop", "own") is not null, "the certified agent's LocalWorkload in force");

        Assert.That(agent.Welcome.Endpoints, Is.Not.Empty, "the broker answered Welcome with the workload's endpoints");
    }

    [Test]
    public async Task AgentWithoutCertificate_ClientCertificatesOptional_IsServedAsBefore()
    {
        await using var agent = await ConnectAsync("anonymous", client: null);
        await Eventually.WaitAsync(() => Inputs?.FindLocalWorkload("shop", "anonymous") is not null, "the anonymous loopback agent's LocalWorkload in force");

        Assert.That(agent.Welcome.Endpoints, Is.Not.Empty);
    }

    [TestCase("spiffe://cluster.local/ns/dev/sa/laptop", "as spiffe://cluster.local/ns/dev/sa/laptop, of namespace dev: an agent's client certificate must be of the LocalWorkload's namespace (shop)", TestName = "AgentCertifiedForAnotherNamespace_RefusedNamingBoth_Counted_NothingPublished")]
    [TestCase("spiffe://other.example/ns/shop/sa/laptop", "as spiffe://other.example/ns/shop/sa/laptop, which is not of the trust domain cluster.local", TestName = "AgentOfAnotherTrustDomain_RefusedNamingBoth_Counted_NothingPublished")]
    [TestCase(null, "with a client certificate ('CN=laptop') that has no spiffe:// URI SAN", TestName = "AgentCertificateWithoutSpiffeId_Refused_Counted_NothingPublished")]
    public async Task AgentOfAnotherIdentity_Refused(string? spiffeId, string expected)
    {
        using var client = TestCertificateAuthority.Load(_ca.Client(spiffeId, "laptop"));
        var name = $"foreign-{Interlocked.Increment(ref _session)}";
        var before = await RefusalsAsync();

        var refusal = Assert.ThrowsAsync<RpcException>(async () => await (await ConnectAsync(name, client)).DisposeAsync());
        await using var good = await ConnectAsync("good-" + name, client: null);
        await Eventually.WaitAsync(() => Inputs?.FindLocalWorkload("shop", "good-" + name) is not null, "a later agent's LocalWorkload in force");
        var after = await RefusalsAsync();

        Assert.Multiple(() =>
        {
            Assert.That(refusal!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(refusal.Status.Detail, Does.StartWith($"the agent for LocalWorkload shop/{name} connected {expected}"));
            Assert.That(Inputs!.FindLocalWorkload("shop", name), Is.Null, "the refused workload never reached the pipeline");
            Assert.That(after, Is.EqualTo(before + 1), "tunnel_broker_refusals_total{reason=\"identity\"}");
            Assert.That(_log.Events.Where(e => e.EventId == 7107).Select(e => e.Text), Has.Some.Contains($"shop/{name}").And.Some.Contains("PermissionDenied"));
        });
    }

    [TestCase("spiffe://cluster.local/ns/shop/sa/laptop", "shop", null)]
    [TestCase("spiffe://cluster.local/ns/shop/sa/laptop", "dev", "the agent for LocalWorkload dev/cart connected as spiffe://cluster.local/ns/shop/sa/laptop, of namespace shop: an agent's client certificate must be of the LocalWorkload's namespace (dev)")]
    [TestCase("spiffe://cluster.local/ns/shop/sa/laptop/extra", "shop", "the agent for LocalWorkload shop/cart connected as spiffe://cluster.local/ns/shop/sa/laptop/extra, which is not spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>")]
    [TestCase("spiffe://mesh.example/ns/shop/sa/laptop", "shop", "the agent for LocalWorkload shop/cart connected as spiffe://mesh.example/ns/shop/sa/laptop, which is not of the trust domain cluster.local (Xds:TrustDomain, --xds-trust-domain)")]
    public void Refusal_OfACertificate_NamesTheIdentityAndTheWorkload(string spiffeId, string ns, string? expected)
    {
        using var certificate = TestCertificateAuthority.Load(_ca.Client(spiffeId));

        Assert.That(new TunnelAgentIdentity("cluster.local").Refusal(certificate, ns, "cart"), Is.EqualTo(expected));
    }

    [Test]
    public void Refusal_NoCertificate_NotChecked() =>
        Assert.That(new TunnelAgentIdentity("cluster.local").Refusal(certificate: null, "shop", "cart"), Is.Null);

    private async Task<TunnelTestAgent> ConnectAsync(string name, X509Certificate2? client)
    {
        var hello = TunnelTestAgent.Hello("shop", name, "echo", [8080], routingKey: name, session: $"identity-{name}");
        using var cancel = new CancellationTokenSource(Timeout);
        return await TunnelTestAgent.ConnectAsync(Host.TunnelPort, hello, new Dictionary<int, int> { [8080] = 9 }, tls: TlsAdsClient.SslOptions(_ca, client), cancellationToken: cancel.Token);
    }

    private async Task<double> RefusalsAsync()
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{Host.AdminPort}/metrics")).WaitAsync(Timeout);
        return IdentityRefusals().Match(text) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [GeneratedRegex("""^tunnel_broker_refusals_total\{reason="identity"\} (\S+)$""", RegexOptions.Multiline)]
    private static partial Regex IdentityRefusals();
}
