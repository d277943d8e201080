using System.Security.Cryptography.X509Certificates;
using XdsControlPlane.Server.ListenerTls;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>The listener TLS settings' checks, SPIFFE IDs, role grants and the node identity decision, as tables.</summary>
public sealed class ListenerTlsOptionsTests
{
    [TestCase("spiffe://cluster.local/ns/shop/sa/web", "cluster.local", "shop", "web")]
    [TestCase("spiffe://example.org/ns/sandboxctl-system/sa/xds-gateway", "example.org", "sandboxctl-system", "xds-gateway")]
    public void SpiffeId_KubernetesShape_Parsed(string uri, string domain, string ns, string sa) =>
        Assert.That(SpiffeId.Parse(uri, out _), Is.EqualTo(new SpiffeId(domain, ns, sa)));

    [TestCase("https://cluster.local/ns/shop/sa/web")]
    [TestCase("spiffe://cluster.local/ns/shop")]
    [TestCase("spiffe://cluster.local/ns/shop/sa/web/extra")]
    [TestCase("spiffe://Cluster.Local/ns/shop/sa/web")]
    [TestCase("spiffe://cluster.local/ns/Shop_1/sa/web")]
    [TestCase("spiffe://cluster.local/sa/web/ns/shop")]
    [TestCase("spiffe:///ns/shop/sa/web")]
    public void SpiffeId_OtherShapes_RefusedWithAReason(string uri)
    {
        Assert.That(SpiffeId.Parse(uri, out var problem), Is.Null);
        Assert.That(problem, Is.Not.Empty);
    }

    [TestCase("gateway=edge/gw", "gateway", "edge", "gw")]
    [TestCase("sidecar=*/*", "sidecar", "*", "*")]
    [TestCase("grpc=shop/*", "grpc", "shop", "*")]
    public void RoleIdentityRule_Valid_Parsed(string text, string role, string ns, string sa) =>
        Assert.That(RoleIdentityRule.Parse(text, out _), Is.EqualTo(new RoleIdentityRule(role, ns, sa)));

    [TestCase("gateway", "ROLE=NAMESPACE/SERVICEACCOUNT")]
    [TestCase("admin=edge/gw", "roles are gateway, sidecar, grpc")]
    [TestCase("gateway=Edge/gw", "must name a namespace")]
    [TestCase("gateway=edge", "ROLE=NAMESPACE/SERVICEACCOUNT")]
    public void RoleIdentityRule_Invalid_RefusedNamingWhy(string text, string reason)
    {
        Assert.That(RoleIdentityRule.Parse(text, out var problem), Is.Null);
        Assert.That(problem, Does.Contain(reason));
    }

    [Test]
    public void Validate_ClientCertificatesWithoutTlsOrCa_NamesTheKeysAndFlags()
    {
        var withoutTls = new ListenerTlsOptions { ClientCertificates = ClientCertificates.Required };
        var withoutCa = new ListenerTlsOptions { CertFile = "/nope.crt", KeyFile = "/nope.key", ClientCertificates = ClientCertificates.Optional };
        var secretInManifests = new ListenerTlsOptions { Secret = "ns/name" };
        var halfPair = new ListenerTlsOptions { CertFile = "/nope.crt" };

        Assert.Multiple(() =>
        {
            Assert.That(withoutTls.Validate("Xds", "--xds", kubernetes: false), Has.Some.Contains("Xds:Tls:ClientCertificates (--xds-tls-client-certs) needs TLS"));
            Assert.That(withoutCa.Validate("Tunnel", "--tunnel", kubernetes: false), Has.Some.Contains("give --tunnel-tls-client-ca-file"));
            Assert.That(withoutCa.Validate("Tunnel", "--tunnel", kubernetes: false), Has.Some.Contains("Tunnel:Tls:CertFile (--tunnel-tls-cert-file) must be an existing file"));
            Assert.That(secretInManifests.Validate("Xds", "--xds", kubernetes: false), Has.Some.Contains("applies with --kubernetes only"));
            Assert.That(secretInManifests.Validate("Xds", "--xds", kubernetes: true), Is.Empty);
            Assert.That(halfPair.Validate("Xds", "--xds", kubernetes: false), Has.Some.Contains("go together"));
            Assert.That(new ListenerTlsOptions().Validate("Xds", "--xds", kubernetes: false), Is.Empty, "plaintext, the default");
            Assert.That(new NodeIdentityOptions { TrustDomain = "Bad Domain" }.Validate(), Has.Some.Contains("--xds-trust-domain"));
            Assert.That(new NodeIdentityOptions { RoleIdentities = ["admin=*/*"] }.Validate(), Has.Some.Contains("Xds:RoleIdentities[0]"));
        });
    }

    [TestCase("spiffe://cluster.local/ns/shop/sa/web", "sidecar", null)]
    [TestCase("spiffe://cluster.local/ns/shop/sa/web", "grpc", null)]
    [TestCase("spiffe://cluster.local/ns/shop/sa/web", "gateway", "role")]
    [TestCase("spiffe://cluster.local/ns/edge/sa/gw", "gateway", null)]
    [TestCase("spiffe://cluster.local/ns/other/sa/gw", "gateway", "role")]
    [TestCase("spiffe://example.org/ns/edge/sa/gw", "gateway", "trust_domain")]
    [TestCase("spiffe://cluster.local/workload/7", "sidecar", "no_spiffe_id")]
    [TestCase(null, "sidecar", "no_spiffe_id")]
    public void Check_Identity_AgainstTheRole(string? spiffeId, string role, string? refusal)
    {
        using var ca = new TestCertificateAuthority();
        using var certificate = TestCertificateAuthority.Load(ca.Client(spiffeId));
        var policy = new NodeIdentityPolicy("cluster.local", [.. NodeIdentityOptions.DefaultRules, new RoleIdentityRule("gateway", "edge", "gw")]);

        Assert.That(policy.Check("node-1", role, certificate)?.Reason, Is.EqualTo(refusal));
    }

    [Test]
    public void Check_NoCertificate_IsNotChecked() =>
        Assert.That(new NodeIdentityPolicy("cluster.local", []).Check("node-1", "gateway", (X509Certificate2?)null), Is.Null);
}
