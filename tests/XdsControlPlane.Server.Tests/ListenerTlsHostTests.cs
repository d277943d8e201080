using System.Security.Cryptography.X509Certificates;
using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Grpc.Net.Client;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// TLS and node identity on the xDS listener, through real TLS clients on loopback: Envoy-shaped raw ADS streams
/// (Grpc.Net.Client over SslStream) with and without client certificates against the server in manifests mode with
/// <c>Xds:Tls</c> on real files. Certificates are made in the test by a throwaway CA; no key is committed.
/// </summary>
[NonParallelizable]
public sealed class ListenerTlsHostTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly HostLog _log = new();
    private TestCertificateAuthority _ca = null!;
    private string _manifests = "";
    private string _tls = "";

    [SetUp]
    public void CopyShop()
    {
        _ca = new TestCertificateAuthority();
        _manifests = Directory.CreateTempSubdirectory("xdscp-ltls-").FullName;
        _tls = Directory.CreateTempSubdirectory("xdscp-ltls-files-").FullName;
        foreach (var file in Directory.GetFiles(RepoDirectory.Path("examples", "shop"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(_manifests, Path.GetFileName(file)));
        }

        File.WriteAllText(Path.Combine(_tls, "ca.crt"), _ca.CaPem);
        WriteServerPair(_ca.Server());
    }

    [TearDown]
    public void Clean()
    {
        _ca.Dispose();
        Directory.Delete(_manifests, recursive: true);
        Directory.Delete(_tls, recursive: true);
        try
        {
            _log.AssertNoUnexpectedWarnings();
        }
        finally
        {
            _log.Clear();
        }
    }

    [Test]
    public async Task RequiredClientCertificates_ServeTheCertifiedSidecar_AndRefuseAClientWithoutOne()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await StartAsync("Required", cancel.Token);
        using var client = TestCertificateAuthority.Load(_ca.Client("spiffe://cluster.local/ns/shop/sa/web"));

        var clusters = await FirstClustersAsync(host.XdsPort, client, "sidecar", cancel.Token);
        var anonymous = Assert.CatchAsync(async () => await FirstClustersAsync(host.XdsPort, null, "sidecar", cancel.Token));
        var plaintext = Assert.CatchAsync(async () => await FirstClustersAsync(host.XdsPort, null, "sidecar", cancel.Token, plaintext: true));

        Assert.Multiple(() =>
        {
            Assert.That(clusters.Resources, Is.Not.Empty, "the sidecar with its certificate gets its clusters over TLS");
            Assert.That(RefusedAtConnection(anonymous), Is.True, $"no client certificate: the handshake fails ({anonymous?.GetType().Name}: {anonymous?.Message})");
            Assert.That(RefusedAtConnection(plaintext), Is.True, $"plaintext to a TLS listener fails ({plaintext?.GetType().Name}: {plaintext?.Message})");
        });
    }

    [Test]
    public async Task NodeAskingForAnotherRole_IsRefusedWithPermissionDenied_NamingWhatAndWho_AndCounted()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await StartAsync("Required", cancel.Token, ("Xds:RoleIdentities:0", "gateway=edge/gateway"), ("Xds:RoleIdentities:1", "sidecar=*/*"));
        using var web = TestCertificateAuthority.Load(_ca.Client("spiffe://cluster.local/ns/shop/sa/web"));
        using var gateway = TestCertificateAuthority.Load(_ca.Client("spiffe://cluster.local/ns/edge/sa/gateway"));
        using var foreign = TestCertificateAuthority.Load(_ca.Client("spiffe://other.example/ns/edge/sa/gateway"));
        using var noId = TestCertificateAuthority.Load(_ca.Client(null));

        var refused = Assert.ThrowsAsync<RpcException>(async () => await FirstClustersAsync(host.XdsPort, web, "gateway", cancel.Token));
        var otherDomain = Assert.ThrowsAsync<RpcException>(async () => await FirstClustersAsync(host.XdsPort, foreign, "gateway", cancel.Token));
        var without = Assert.ThrowsAsync<RpcException>(async () => await FirstClustersAsync(host.XdsPort, noId, "sidecar", cancel.Token));
        var granted = await FirstClustersAsync(host.XdsPort, gateway, "gateway", cancel.Token);
        var ownRole = await FirstClustersAsync(host.XdsPort, web, "sidecar", cancel.Token);
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };
        var metrics = await admin.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(refused.Status.Detail, Does.Contain("asked for the gateway configuration").And.Contain("spiffe://cluster.local/ns/shop/sa/web").And.Contain("only sidecar"));
            Assert.That(otherDomain!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(otherDomain.Status.Detail, Does.Contain("not of the trust domain cluster.local"));
            Assert.That(without!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(without.Status.Detail, Does.Contain("no spiffe:// URI SAN"));
            Assert.That(granted.Resources, Is.Not.Empty, "the granted gateway identity gets the gateway's clusters");
            Assert.That(ownRole.Resources, Is.Not.Empty, "the web identity still gets the sidecar's");
            Assert.That(metrics, Does.Contain("xds_node_identity_refusals_total{group=\"gateway\",reason=\"role\"} 1"));
            Assert.That(metrics, Does.Contain("xds_node_identity_refusals_total{group=\"gateway\",reason=\"trust_domain\"} 1"));
            Assert.That(metrics, Does.Contain("xds_node_identity_refusals_total{group=\"sidecar\",reason=\"no_spiffe_id\"} 1"));
            Assert.That(_log.Events.Count(e => e.EventId == 1306), Is.EqualTo(3), "each refusal logged");
        });
    }

    [Test]
    public async Task OptionalClientCertificates_LetAnonymousClientsIn_AndCheckPresentedOnes()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await StartAsync("Optional", cancel.Token);
        using var web = TestCertificateAuthority.Load(_ca.Client("spiffe://cluster.local/ns/shop/sa/web"));
        using var stranger = new TestCertificateAuthority("another CA");
        using var untrusted = TestCertificateAuthority.Load(stranger.Client("spiffe://cluster.local/ns/shop/sa/web"));

        var anonymous = await FirstClustersAsync(host.XdsPort, null, "gateway", cancel.Token);
        var refused = Assert.ThrowsAsync<RpcException>(async () => await FirstClustersAsync(host.XdsPort, web, "gateway", cancel.Token));
        var foreignCa = Assert.CatchAsync(async () => await FirstClustersAsync(host.XdsPort, untrusted, "sidecar", cancel.Token));

        Assert.Multiple(() =>
        {
            Assert.That(anonymous.Resources, Is.Not.Empty, "optional: a client without a certificate is served");
            Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied), "a presented certificate is held against the role");
            Assert.That(RefusedAtConnection(foreignCa), Is.True, $"a certificate of another CA fails the handshake ({foreignCa?.GetType().Name}: {foreignCa?.Message})");
        });
    }

    [Test]
    public async Task RotatedCertificateFiles_ReachNewConnections_WhileAnOpenStreamKeepsBeingServed()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await StartAsync("Off", cancel.Token, ("Xds:Tls:RetryInterval", TimeSpan.FromMilliseconds(200)));
        X509Certificate2? seenFirst = null;
        using var openChannel = Channel(host.XdsPort, null, certificate => seenFirst ??= certificate);
        using var open = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(openChannel).StreamAggregatedResources(cancellationToken: cancel.Token);
        await open.RequestStream.WriteAsync(Request("sidecar", TypeUrls.Cluster), cancel.Token);
        Assert.That(await open.ResponseStream.MoveNext(cancel.Token), Is.True);
        var firstResponse = open.ResponseStream.Current;

        var rotated = _ca.Server("xds-control-plane rotated");
        WriteServerPair(rotated);
        string? seenSubject = null;
        await Eventually.WaitAsync(
            async () =>
            {
                X509Certificate2? seen = null;
                using var fresh = Channel(host.XdsPort, null, certificate => seen = certificate);
                await new ClientStatusProbe(fresh).ListAsync(cancel.Token);
                seenSubject = seen?.Subject;
                return seenSubject == "CN=xds-control-plane rotated";
            },
            "a new connection gets the rotated certificate");

        // The watch puts a certificate in use, then logs it: a new connection can get it before the line is written.
        await Eventually.WaitAsync(() => _log.Events.Count(e => e.EventId == 1300) >= 2, "the rotated certificate's load to be logged", cancel.Token);

        // The open stream, on its connection of the old certificate, is still served: it asks for listeners and gets them.
        await open.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.Cluster, VersionInfo = firstResponse.VersionInfo, ResponseNonce = firstResponse.Nonce }, cancel.Token);
        await open.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.Listener }, cancel.Token);
        Assert.That(await open.ResponseStream.MoveNext(cancel.Token), Is.True, "the open stream is answered");

        Assert.Multiple(() =>
        {
            Assert.That(seenFirst?.Subject, Is.EqualTo("CN=xds-control-plane"));
            Assert.That(seenSubject, Is.EqualTo("CN=xds-control-plane rotated"));
            Assert.That(open.ResponseStream.Current.TypeUrl, Is.EqualTo(TypeUrls.Listener));
            Assert.That(_log.Events.Count(e => e.EventId == 1300), Is.EqualTo(2), "loaded on start and on rotation");
            Assert.That(string.Join("\n", _log.Events.Select(e => e.Text)), Does.Not.Contain("PRIVATE KEY").And.Not.Contain(rotated.KeyLine), "no key in the log");
        });
    }

    [Test]
    public async Task CertificateFromAnIntermediateCa_IsSentWithItsChain_ClientsTrustingOnlyTheRootVerifyIt()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        using var issuer = _ca.Intermediate("xds issuing CA");

        // tls.crt as cert-manager writes it: the leaf, then the intermediate; the clients trust only the root.
        WriteServerPair(issuer.Server("xds via intermediate"));
        await using var host = await StartAsync("Off", cancel.Token);

        var openssl = await OpenSslClient.HandshakeAsync(host.XdsPort, Path.Combine(_tls, "ca.crt"), cancel.Token);
        using var channel = TlsAdsClient.RootTrustingChannel(host.XdsPort, _ca.Certificate);
        var clusters = await TlsAdsClient.FirstClustersAsync(channel, "sidecar", cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(openssl.Verified, Is.True, () => "openssl s_client trusting only the root verifies the chain:\n" + openssl.Output);
            Assert.That(openssl.CertificatesSent, Is.EqualTo(2), () => "the leaf and the intermediate are sent:\n" + openssl.Output);
            Assert.That(clusters.Resources, Is.Not.Empty, "a .NET client trusting only the root is served");
            Assert.That(_log.Events.Single(e => e.EventId == 1300).Text, Does.Contain("sent with 1 intermediate certificates"));
        });
    }

    private async Task<ServerHost> StartAsync(string clientCertificates, CancellationToken cancellationToken, params (string Key, object Value)[] settings)
    {
        var server = new InProcessServer()
            .WithManifests(_manifests)
            .With("Xds:Tls:CertFile", Path.Combine(_tls, "tls.crt"))
            .With("Xds:Tls:KeyFile", Path.Combine(_tls, "tls.key"))
            .With("Xds:Tls:ClientCertificates", clientCertificates)
            .WithLog(_log);
        if (clientCertificates != "Off")
        {
            server = server.With("Xds:Tls:ClientCaFile", Path.Combine(_tls, "ca.crt"));
        }

        foreach (var (key, value) in settings)
        {
            server = server.With(key, value);
        }

        return await server.StartAsync(cancellationToken);
    }

    private void WriteServerPair(TestCertificate pair)
    {
        // The key first, then the certificate: a reader in between sees a mismatch and retries.
        File.WriteAllText(Path.Combine(_tls, "tls.key"), pair.KeyPem);
        File.WriteAllText(Path.Combine(_tls, "tls.crt"), pair.ChainPem);
    }

    private GrpcChannel Channel(int port, X509Certificate2? client, Action<X509Certificate2>? seen = null) => TlsAdsClient.Channel(port, _ca, client, seen);

    private Task<DiscoveryResponse> FirstClustersAsync(int port, X509Certificate2? client, string role, CancellationToken cancellationToken, bool plaintext = false) =>
        TlsAdsClient.FirstClustersAsync(port, _ca, client, role, cancellationToken, plaintext);

    private static bool RefusedAtConnection(Exception? failure) => TlsAdsClient.RefusedAtConnection(failure);

    private static DiscoveryRequest Request(string role, string typeUrl) => TlsAdsClient.Request(role, typeUrl);

    /// <summary>One CSDS call: enough for a new connection's handshake.</summary>
    private sealed class ClientStatusProbe(GrpcChannel channel)
    {
        public async Task ListAsync(CancellationToken cancellationToken) =>
            await new global::Envoy.Service.Status.V3.ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel).FetchClientStatusAsync(new global::Envoy.Service.Status.V3.ClientStatusRequest(), cancellationToken: cancellationToken);
    }
}
