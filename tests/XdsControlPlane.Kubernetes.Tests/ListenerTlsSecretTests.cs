using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using XdsControlPlane.Testing;
using XdsControlPlane.Xds.Resources;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// The xDS listener's certificate from a <c>kubernetes.io/tls</c> Secret (<c>--xds-tls-secret NAMESPACE/NAME</c>)
/// against the fake API server with the official client, through a real TLS client: until the Secret exists no
/// handshake succeeds; created, its <c>tls.crt</c> is served and its <c>ca.crt</c> is the client CA (client
/// certificates required); rotated, new connections get the new certificate. Only list and watch of Secrets are asked.
/// </summary>
public sealed class ListenerTlsSecretTests
{
    private const string Namespace = "sandboxctl-system";
    private const string SecretName = "xds-tls";
    private readonly HostLog _log = new();

    [SetUp]
    public void ForgetLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    [Test]
    public async Task Secret_CreatedThenRotated_ServedToNewConnections_WithItsCaAsTheClientCa()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var ca = new TestCertificateAuthority();
        using var client = TestCertificateAuthority.Load(ca.Client("spiffe://cluster.local/ns/shop/sa/web"));
        await using var api = await FakeApiServer.StartAsync();
        _log.Expect("does not exist (yet)");
        await using var host = await new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url)
            .With("Xds:Tls:Secret", $"{Namespace}/{SecretName}")
            .With("Xds:Tls:ClientCertificates", "Required")
            .StartAsync(cancel.Token);
        await Eventually.WaitAsync(() => _log.Contains("does not exist (yet)"), "the missing Secret to be noticed", cancel.Token);
        var before = Assert.CatchAsync(async () => await TlsAdsClient.FirstClustersAsync(host.XdsPort, ca, client, "sidecar", cancel.Token));

        api.Put(FakeApiServer.Secrets, TlsSecret(ca.Server("xds first"), ca.CaPem));
        await Eventually.WaitAsync(async () => await SubjectAsync(host.XdsPort, ca, client, cancel.Token) == "CN=xds first", "the Secret's certificate to be served");
        var served = await TlsAdsClient.FirstClustersAsync(host.XdsPort, ca, client, "sidecar", cancel.Token);

        api.Put(FakeApiServer.Secrets, TlsSecret(ca.Server("xds rotated"), ca.CaPem));
        await Eventually.WaitAsync(async () => await SubjectAsync(host.XdsPort, ca, client, cancel.Token) == "CN=xds rotated", "the rotated certificate to reach new connections");

        // The source puts a certificate in use, then logs it: a new connection can get it before the line is written.
        await Eventually.WaitAsync(() => _log.Events.Count(e => e.EventId == 1300) >= 2, "the rotated certificate's load to be logged", cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(TlsAdsClient.RefusedAtConnection(before), Is.True, $"no certificate yet: {before?.GetType().Name}: {before?.Message}");
            Assert.That(served.TypeUrl, Is.EqualTo(TypeUrls.Cluster), "a client certificate signed by the Secret's ca.crt is let in");
            Assert.That(api.Permissions().Where(p => p.Contains("secrets", StringComparison.Ordinal)), Is.EqualTo(GatewayTlsSecretTests.SecretPermissions));
            Assert.That(_log.Events.Count(e => e.EventId == 1300), Is.EqualTo(2), "each certificate loaded once");
            Assert.That(string.Join("\n", _log.Events.Select(e => e.Text)), Does.Not.Contain("PRIVATE KEY"));
        });
    }

    [Test]
    public async Task SecretFromAnIntermediateIssuer_ServedWithItsChain_ClientsTrustingOnlyTheRootVerifyIt()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var root = new TestCertificateAuthority("test root CA");
        using var issuer = root.Intermediate("cert-manager issuing CA");
        await using var api = await FakeApiServer.StartAsync();

        // As cert-manager's CA issuer writes it: tls.crt the leaf and the intermediate, ca.crt the root.
        api.Put(FakeApiServer.Secrets, TlsSecret(issuer.Server("xds from cert-manager"), root.CaPem));
        await using var host = await new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url)
            .With("Xds:Tls:Secret", $"{Namespace}/{SecretName}")
            .StartAsync(cancel.Token);
        await Eventually.WaitAsync(() => _log.Events.Any(e => e.EventId == 1300), "the Secret's certificate to be loaded", cancel.Token);
        var caFile = Path.Combine(Directory.CreateTempSubdirectory("xdscp-ltls-root-").FullName, "ca.crt");
        await File.WriteAllTextAsync(caFile, root.CaPem, cancel.Token);

        try
        {
            var openssl = await OpenSslClient.HandshakeAsync(host.XdsPort, caFile, cancel.Token);
            using var channel = TlsAdsClient.RootTrustingChannel(host.XdsPort, root.Certificate);
            var clusters = await TlsAdsClient.FirstClustersAsync(channel, "sidecar", cancel.Token);
            Assert.Multiple(() =>
            {
                Assert.That(openssl.Verified, Is.True, () => "openssl s_client trusting only the root verifies the chain:\n" + openssl.Output);
                Assert.That(openssl.CertificatesSent, Is.EqualTo(2), () => "the leaf and the intermediate are sent:\n" + openssl.Output);
                Assert.That(clusters.TypeUrl, Is.EqualTo(TypeUrls.Cluster), "a .NET client trusting only the root is served");
            });
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(caFile)!, recursive: true);
        }
    }

    /// <summary>The subject of the certificate a new connection gets, or null when the handshake fails.</summary>
    private static async Task<string?> SubjectAsync(int port, TestCertificateAuthority ca, X509Certificate2 client, CancellationToken cancellationToken)
    {
        string? subject = null;
        using var channel = TlsAdsClient.Channel(port, ca, client, certificate => subject = certificate.Subject);
        try
        {
            await new global::Envoy.Service.Status.V3.ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel)
                .FetchClientStatusAsync(new global::Envoy.Service.Status.V3.ClientStatusRequest(), cancellationToken: cancellationToken);
        }
        catch (Exception e) when (TlsAdsClient.RefusedAtConnection(e))
        {
            return null;
        }

        return subject;
    }

    private static JsonObject TlsSecret(TestCertificate pair, string caPem)
    {
        var secret = FakeApiServer.SecretObject(Namespace, SecretName, new Dictionary<string, string> { ["tls.crt"] = pair.ChainPem, ["tls.key"] = pair.KeyPem, ["ca.crt"] = caPem });
        secret["type"] = "kubernetes.io/tls";
        return secret;
    }
}
