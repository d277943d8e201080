using System.Text.Json.Nodes;
using Envoy.Config.Bootstrap.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// The bootstraps that reach a TLS control plane: the Envoy bootstraps' control-plane cluster (xDS and the preview
/// authorization service both ride it) with an UpstreamTlsContext from files, valid by Envoy's rules and round-tripping;
/// the gRPC client's bootstrap with gRFC A65 <c>tls</c> channel credentials; both plaintext by default.
/// </summary>
public sealed class XdsTlsBootstrapTests
{
    private static readonly XdsTlsFiles Mutual = new("/etc/sandboxctl/tls/ca.crt", "/etc/sandboxctl/tls/tls.crt", "/etc/sandboxctl/tls/tls.key");

    [TestCase(DataPlaneRoles.Gateway)]
    [TestCase(DataPlaneRoles.Sidecar)]
    public void EnvoyBootstrap_WithMutualTls_ControlPlaneClusterVerifiesTheServerAndPresentsTheClientCertificate(string role)
    {
        var built = EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest { Role = role, XdsHost = "xds-control-plane.sandboxctl-system.svc", XdsPort = 18000, Tls = Mutual });
        var cluster = built.StaticResources.Clusters.Single(c => c.Name == EnvoyBootstrapRenderer.ControlPlaneCluster);
        var tls = cluster.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
        var yaml = EnvoyBootstrapRenderer.ToYaml(built);

        Assert.Multiple(() =>
        {
            Assert.That(EnvoyBootstrapRenderer.Validate(built).Violations, Is.Empty);
            Assert.That(EnvoyTypeCatalog.JsonParser.Parse<Bootstrap>(YamlJson.Convert(yaml)!.ToJsonString()), Is.EqualTo(built), "round-trips through YAML");
            Assert.That(cluster.TransportSocket.Name, Is.EqualTo("envoy.transport_sockets.tls"));
            Assert.That(tls.Sni, Is.EqualTo("xds-control-plane.sandboxctl-system.svc"));
            Assert.That(tls.CommonTlsContext.AlpnProtocols, Is.EqualTo(new[] { "h2" }));
            Assert.That(tls.CommonTlsContext.ValidationContext.TrustedCa.Filename, Is.EqualTo("/etc/sandboxctl/tls/ca.crt"));
            var san = tls.CommonTlsContext.ValidationContext.MatchTypedSubjectAltNames.Single();
            Assert.That((san.SanType, san.Matcher.Exact), Is.EqualTo((SubjectAltNameMatcher.Types.SanType.Dns, "xds-control-plane.sandboxctl-system.svc")));
            var certificate = tls.CommonTlsContext.TlsCertificates.Single();
            Assert.That((certificate.CertificateChain.Filename, certificate.PrivateKey.Filename), Is.EqualTo(("/etc/sandboxctl/tls/tls.crt", "/etc/sandboxctl/tls/tls.key")));
            Assert.That(yaml, Does.Contain("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"));
        });
    }

    [Test]
    public void EnvoyBootstrap_TlsToAnIpAddress_MatchesAnIpSanWithoutSni()
    {
        var built = EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest { Role = DataPlaneRoles.Sidecar, XdsHost = "10.0.0.5", XdsPort = 18000, Tls = new XdsTlsFiles("/ca.crt") });
        var tls = built.StaticResources.Clusters.Single().TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
        var san = tls.CommonTlsContext.ValidationContext.MatchTypedSubjectAltNames.Single();

        Assert.Multiple(() =>
        {
            Assert.That(EnvoyBootstrapRenderer.Validate(built).Violations, Is.Empty);
            Assert.That(tls.Sni, Is.Empty);
            Assert.That((san.SanType, san.Matcher.Exact), Is.EqualTo((SubjectAltNameMatcher.Types.SanType.IpAddress, "10.0.0.5")));
            Assert.That(tls.CommonTlsContext.TlsCertificates, Is.Empty, "TLS without a client certificate");
        });
    }

    [Test]
    public void EnvoyBootstrap_WithoutTls_HasNoTransportSocket()
    {
        var built = EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest { Role = DataPlaneRoles.Gateway, XdsHost = "xds", XdsPort = 18000 });

        Assert.That(built.StaticResources.Clusters.Single().TransportSocket, Is.Null);
    }

    [Test]
    public void GrpcBootstrap_Defaults_EqualTheShippedFile()
    {
        var shipped = JsonNode.Parse(File.ReadAllText(RepoDirectory.Path("envoy-bootstrap", "grpc-bootstrap.json")))!;

        var built = GrpcBootstrapRenderer.Build("xds-control-plane.sandboxctl-system.svc.cluster.local", 18000);

        Assert.That(JsonNode.DeepEquals(built, shipped), Is.True, built.ToJsonString());
    }

    [Test]
    public void GrpcBootstrap_WithMutualTls_ListsOnlyTheTlsCredentialsWithTheFiles()
    {
        var built = GrpcBootstrapRenderer.Build("::1", 18000, tls: Mutual);
        var server = built["xds_servers"]![0]!;

        Assert.Multiple(() =>
        {
            Assert.That((string?)server["server_uri"], Is.EqualTo("[::1]:18000"));
            Assert.That(server["channel_creds"]!.AsArray(), Has.Count.EqualTo(1), "no plaintext fallback for clients that do not know tls");
            Assert.That(JsonNode.DeepEquals(server["channel_creds"]![0], JsonNode.Parse("""
                {"type": "tls", "config": {"ca_certificate_file": "/etc/sandboxctl/tls/ca.crt", "certificate_file": "/etc/sandboxctl/tls/tls.crt", "private_key_file": "/etc/sandboxctl/tls/tls.key"}}
                """)), Is.True, server["channel_creds"]!.ToJsonString());
        });
    }

    [Test]
    public void Bootstraps_ClientCertificateWithoutKey_Refused()
    {
        var half = new XdsTlsFiles("/ca.crt", "/tls.crt");

        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentException>(() => EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest { Role = DataPlaneRoles.Gateway, XdsHost = "xds", XdsPort = 18000, Tls = half }));
            Assert.Throws<ArgumentException>(() => GrpcBootstrapRenderer.Build("xds", 18000, tls: half));
        });
    }
}
