using System.Text.Json.Nodes;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation.HttpFilters;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// HTTPS at the gateway (<see cref="TranslationOptions.GatewayTls"/>): the HTTPS listener loads its certificate over
/// SDS and the plain listener's routes; planned (preview) hosts redirect plain HTTP to HTTPS while Service ports' hosts
/// stay plain; without a certificate the HTTPS listener waits; the certificate is checked before it is served; and
/// debug output never shows a secret's contents.
/// </summary>
public sealed class GatewayTlsTranslationTests
{
    private const string PreviewHost = "cart-8080-abc123.preview.example.com";
    private static readonly TranslationOptions Tls = new() { GatewayTls = true };

    [Test]
    public void Translate_TlsOff_OnlyThePlainListener_AndPlannedHostsStayPlain()
    {
        var gateway = Translate(new TranslationOptions());

        Assert.Multiple(() =>
        {
            Assert.That(gateway.Select(r => r.Message).OfType<Listener>().Select(l => l.Name), Is.EqualTo(new[] { "gateway-http" }));
            Assert.That(Hosts(gateway).Single(h => h.Name == PreviewHost).RequireTls, Is.EqualTo(VirtualHost.Types.TlsRequirementType.None));
        });
    }

    [Test]
    public void Translate_TlsOn_HttpsListenerLoadsTheSecretOverAds_WithThePlainListenersRoutes()
    {
        var gateway = Translate(Tls);
        var listeners = gateway.Select(r => r.Message).OfType<Listener>().ToDictionary(l => l.Name);
        var https = listeners["gateway-https"];
        var chain = https.FilterChains.Single();
        var tls = chain.TransportSocket.TypedConfig.Unpack<DownstreamTlsContext>();
        var sds = tls.CommonTlsContext.TlsCertificateSdsSecretConfigs.Single();

        Assert.Multiple(() =>
        {
            Assert.That(https.Address.SocketAddress.PortValue, Is.EqualTo(8443));
            Assert.That(sds.Name, Is.EqualTo(GatewayTlsSecret.Name));
            Assert.That(sds.SdsConfig.Ads, Is.Not.Null, "over the ADS stream");
            Assert.That(tls.CommonTlsContext.AlpnProtocols, Is.EqualTo(new[] { "h2", "http/1.1" }));
            Assert.That(tls.CommonTlsContext.TlsParams.TlsMinimumProtocolVersion, Is.EqualTo(TlsParameters.Types.TlsProtocol.Tlsv12));
            Assert.That(Hcm(https).Rds.RouteConfigName, Is.EqualTo(Hcm(listeners["gateway-http"]).Rds.RouteConfigName), "the same routes");
            Assert.That(Hcm(https).HttpFilters, Is.EqualTo(Hcm(listeners["gateway-http"]).HttpFilters), "the same filters");
            Assert.That(gateway.Single(r => r.Name == "gateway-https").References.Secrets, Is.EqualTo(new[] { GatewayTlsSecret.Name }));
        });
    }

    [Test]
    public void Translate_TlsOn_PlannedHostsRedirectToHttps_ServicePortHostsStayPlain()
    {
        var hosts = Hosts(Translate(Tls));

        Assert.Multiple(() =>
        {
            Assert.That(hosts.Single(h => h.Name == PreviewHost).RequireTls, Is.EqualTo(VirtualHost.Types.TlsRequirementType.All));
            Assert.That(hosts.Where(h => h.Name != PreviewHost).Select(h => h.RequireTls), Is.All.EqualTo(VirtualHost.Types.TlsRequirementType.None));
        });
    }

    [Test]
    public void Complete_WithoutCertificate_HttpsListenerWaits_SnapshotStaysConsistent()
    {
        var gateway = Translate(Tls);

        var waiting = GatewayTlsSecret.Complete(gateway, null);
        var served = GatewayTlsSecret.Complete(gateway, Secret(TestCertificates.Wildcard()));

        Assert.Multiple(() =>
        {
            Assert.That(waiting.Select(r => r.Name), Does.Not.Contain("gateway-https").And.Contain("gateway-http"));
            Assert.That(SnapshotConsistency.Check(Snapshot.Create(waiting)), Is.Empty);
            Assert.That(served.Select(r => r.Name), Does.Contain("gateway-https").And.Contain(GatewayTlsSecret.Name));
            Assert.That(SnapshotConsistency.Check(Snapshot.Create(served)), Is.Empty);
            Assert.That(SnapshotConsistency.Check(Snapshot.Create(gateway)), Is.Not.Empty, "the listener alone names a secret the snapshot lacks");
            foreach (var resource in served)
            {
                Assert.That(EnvoyRulesValidator.Default.Validate(resource.Message).Violations, Is.Empty, resource.ToString());
            }
        });
    }

    [Test]
    public void Options_HttpsPortEqualToThePlainPort_IsAProblem() =>
        Assert.That(new TranslationOptions { GatewayTls = true, GatewayHttpsPort = 8080 }.Validate(), Has.Some.Contains("GatewayHttpsPort must differ from GatewayPort"));

    [Test]
    public void Parse_CertManagerPair_ReadsTheLeafFirstAndKeepsTheChain()
    {
        var pair = TestCertificates.Wildcard();

        var certificate = GatewayCertificate.Parse("issued by cert-manager\n" + pair.ChainPem, pair.KeyPem, "Secret edge/preview-tls");

        Assert.Multiple(() =>
        {
            Assert.That(certificate.DnsNames, Is.EqualTo(new[] { "*.preview.example.com" }));
            Assert.That(certificate.ChainLength, Is.EqualTo(2));
            Assert.That(certificate.ChainPem, Does.StartWith("-----BEGIN CERTIFICATE-----"), "text around the blocks is dropped");
            Assert.That(certificate.ValidityProblem(DateTimeOffset.UtcNow), Is.Null);
            Assert.That(certificate.ToString(), Does.Contain("*.preview.example.com").And.Not.Contain(pair.KeyLine));
        });
    }

    [TestCase("garbage", "tls.crt: holds no PEM certificate")]
    [TestCase("other key", "tls.key: not the private key of the first certificate")]
    [TestCase("no key", "tls.key: holds no PEM private key")]
    [TestCase("encrypted", "tls.key: the private key is encrypted")]
    [TestCase("huge chain", "tls.crt: 70000 bytes, at most 65536")]
    [TestCase("huge key", "tls.key: 20000 bytes, at most 16384")]
    public void Parse_BadPair_SaysWhichPartAndWhy(string bad, string expected)
    {
        var pair = TestCertificates.Wildcard();
        var other = TestCertificates.Wildcard();
        var (chain, key) = bad switch
        {
            "garbage" => ("not a certificate", pair.KeyPem),
            "other key" => (pair.ChainPem, other.KeyPem),
            "no key" => (pair.ChainPem, "nothing here"),
            "encrypted" => (pair.ChainPem, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
            "huge chain" => (new string('x', 70000), pair.KeyPem),
            _ => (pair.ChainPem, new string('x', 20000)),
        };

        var problem = Assert.Throws<FormatException>(() => GatewayCertificate.Parse(chain, key, "Secret edge/preview-tls"));

        Assert.That(problem!.Message, Does.StartWith("Secret edge/preview-tls: ").And.Contain(expected).And.Not.Contain(pair.KeyLine));
    }

    [Test]
    public void ValidityProblem_ExpiredOrNotYetValid_IsNamed()
    {
        var pair = TestCertificates.Wildcard(notBefore: DateTimeOffset.UtcNow.AddDays(-100), lifetime: TimeSpan.FromDays(90));
        var certificate = GatewayCertificate.Parse(pair.ChainPem, pair.KeyPem, "test");

        Assert.Multiple(() =>
        {
            Assert.That(certificate.ValidityProblem(DateTimeOffset.UtcNow), Does.StartWith("expired at "));
            Assert.That(certificate.ValidityProblem(DateTimeOffset.UtcNow.AddDays(-101)), Does.StartWith("not valid before "));
        });
    }

    [Test]
    public async Task SnapshotJson_RedactsSecretContents_InBothForms()
    {
        var pair = TestCertificates.Wildcard();
        var snapshot = Snapshot.Create(GatewayTlsSecret.Complete(Translate(Tls), Secret(pair)));
        (string, Snapshot, DateTimeOffset?)[] groups = [(DataPlaneRoles.Gateway, snapshot, null)];

        var tree = SnapshotJson.Document(groups, withResources: true).ToJsonString();
        using var stream = new MemoryStream();
        await SnapshotJson.WriteAsync(stream, groups, withResources: true, CancellationToken.None);
        var streamed = System.Text.Encoding.UTF8.GetString(stream.ToArray());

        Assert.Multiple(() =>
        {
            foreach (var text in new[] { tree, streamed })
            {
                Assert.That(text, Does.Not.Contain(pair.KeyLine).And.Not.Contain("BEGIN PRIVATE KEY"));
                var entry = JsonNode.Parse(text)!["groups"]!["gateway"]!["resources"]!["SDS"]![GatewayTlsSecret.Name]!;
                Assert.That((string?)entry["resource"]!["redacted"], Is.Not.Null);
                Assert.That((string?)entry["version"], Is.EqualTo(snapshot.Find(TypeUrls.Secret, GatewayTlsSecret.Name)!.Version));
            }
        });
    }

    private static XdsResource Secret(TestCertificate pair) => GatewayTlsSecret.Create(GatewayCertificate.Parse(pair.ChainPem, pair.KeyPem, "test"));

    private static IReadOnlyList<XdsResource> Translate(TranslationOptions options) =>
        new RoutingTranslator(options, HttpFilterRegistry.Product, new OnePreview()).Translate(RepoManifests.ParseValid(GatewayKeyForwardingTests.Inputs)).Groups[DataPlaneRoles.Gateway];

    private static IReadOnlyList<VirtualHost> Hosts(IReadOnlyList<XdsResource> gateway) =>
        gateway.Select(r => r.Message).OfType<RouteConfiguration>().Single().VirtualHosts;

    private static Hcm Hcm(Listener listener) => listener.FilterChains.Single().Filters.Single().TypedConfig.Unpack<Hcm>();

    /// <summary>One planned host, as the preview planner makes them.</summary>
    private sealed class OnePreview : IVirtualHostPlanner
    {
        public IReadOnlyList<PlannedVirtualHost> Plan(RoutingInputs inputs) =>
        [
            new(PreviewHost, [PreviewHost], [new PlannedHostRoute("preview", "/", "outbound|8080||cart-v2.shop.svc.cluster.local", new Dictionary<string, string> { ["x-routing-key"] = "feature-x" })]),
        ];
    }
}
