using System.Text.Json.Nodes;
using Envoy.Extensions.TransportSockets.Tls.V3;
using XdsControlPlane.Testing;
using XdsControlPlane.Xds.Resources;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// The gateway's HTTPS certificate from a <c>kubernetes.io/tls</c> Secret (<c>--gateway-tls-secret NAMESPACE/NAME</c>)
/// against the fake API server with the official client: watched by name (list and watch with the field selector
/// <c>metadata.name</c>, nothing else asked of Secrets); created, it reaches the gateway group as the SDS secret and the
/// HTTPS listener appears; rotated, only the secret changes; a bad version and a deletion keep the last good one, each
/// said once.
/// </summary>
public sealed class GatewayTlsSecretTests
{
    /// <summary>What the server asks of Secrets with a gateway TLS Secret, and all it asks (the chart's Role grants exactly these, ChartRbacTests).</summary>
    internal static readonly string[] SecretPermissions = ["/secrets:list", "/secrets:watch"];

    private const string Namespace = "edge";
    private const string SecretName = "preview-tls";
    private readonly HostLog _log = new();

    [SetUp]
    public void ForgetLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    [Test]
    public async Task CreateRotateBreakDelete_ServesEachGoodCertificate_AndKeepsTheLastGood()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var api = await FakeApiServer.StartAsync();
        api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        api.Put(FakeApiServer.Secrets, TlsSecret("unrelated", TestCertificates.Wildcard("other.example.com")));
        await using var host = await new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url)
            .With("GatewayTls:Secret", $"{Namespace}/{SecretName}")
            .StartAsync(cancel.Token);
        await Eventually.WaitAsync(() => _log.Contains("does not exist yet") && Gateway(host) is not null, "the missing Secret to be noticed", cancel.Token);
        Assert.That(Gateway(host)!.Find(TypeUrls.Listener, "gateway-https"), Is.Null, "no HTTPS listener without a certificate");

        var first = TestCertificates.Wildcard();
        api.Put(FakeApiServer.Secrets, TlsSecret(SecretName, first));
        await Eventually.WaitAsync(() => Leaf(host) == Leaf(first), "the first certificate to be served", cancel.Token);
        var listener = Gateway(host)!.Find(TypeUrls.Listener, "gateway-https");

        var second = TestCertificates.Wildcard();
        api.Put(FakeApiServer.Secrets, TlsSecret(SecretName, second));
        await Eventually.WaitAsync(() => Leaf(host) == Leaf(second), "the rotated certificate to be served", cancel.Token);

        _log.Expect("the certificate in use stays");
        api.Put(FakeApiServer.Secrets, TlsSecret(SecretName, second with { KeyPem = TestCertificates.Wildcard().KeyPem }));
        await Eventually.WaitAsync(() => _log.Contains("tls.key: not the private key of the first certificate"), "the bad version to be refused", cancel.Token);
        api.Delete(FakeApiServer.Secrets, Namespace, SecretName);
        await Eventually.WaitAsync(() => _log.Contains("was deleted"), "the deletion to be noticed", cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(Leaf(host), Is.EqualTo(Leaf(second)), "the last good certificate stays");
            Assert.That(Gateway(host)!.Find(TypeUrls.Listener, "gateway-https"), Is.SameAs(listener), "rotations never touched the listener");
            Assert.That(_log.Events.Count(e => e.EventId == 7321), Is.EqualTo(1), "the bad version is said once");
            Assert.That(api.Permissions().Where(p => p.Contains("secrets", StringComparison.Ordinal)), Is.EqualTo(SecretPermissions));
            Assert.That(_log.Events.Select(e => e.Text), Has.None.Contains(first.KeyLine).And.None.Contains(second.KeyLine));
        });
    }

    private static Snapshot? Gateway(Server.ServerHost host) => host.Snapshots.GetSnapshot("gateway")?.Snapshot;

    private static string? Leaf(Server.ServerHost host) =>
        Gateway(host)?.Find(TypeUrls.Secret, "gateway-tls")?.Message is Secret secret ? Leaf(secret.TlsCertificate.CertificateChain.InlineString) : null;

    private static string Leaf(TestCertificate pair) => Leaf(pair.ChainPem);

    private static string Leaf(string chain) => chain.Split("-----END CERTIFICATE-----")[0].Trim();

    private static JsonObject TlsSecret(string name, TestCertificate pair)
    {
        var secret = FakeApiServer.SecretObject(Namespace, name, new Dictionary<string, string> { ["tls.crt"] = pair.ChainPem, ["tls.key"] = pair.KeyPem });
        secret["type"] = "kubernetes.io/tls";
        return secret;
    }
}
