using System.Text.Json.Nodes;
using Envoy.Config.Bootstrap.V3;
using Envoy.Config.Core.V3;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using UpstreamHttpOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace XdsControlPlane.Translation.Tests;

/// <summary>The shipped bootstrap files parse as Envoy bootstraps, pass Envoy's rules and select the intended node group.</summary>
public sealed class BootstrapFileTests
{
    [TestCase("gateway.yaml", DataPlaneRoles.Gateway)]
    [TestCase("sidecar.yaml", DataPlaneRoles.Sidecar)]
    public void Bootstrap_ShippedFile_ValidAndPointsAtTheControlPlaneOverAds(string file, string group)
    {
        var bootstrap = ParseBootstrap(File.ReadAllText(RepoDirectory.Path("envoy-bootstrap", file)));
        var validation = EnvoyRulesValidator.Default.Validate(bootstrap);
        var ads = bootstrap.DynamicResources.AdsConfig;
        var controlPlane = bootstrap.StaticResources.Clusters.Single(c => c.Name == "xds_control_plane");

        Assert.Multiple(() =>
        {
            Assert.That(validation.Violations, Is.Empty, validation.ToString());
            Assert.That(new DataPlaneGroupResolver().GroupOf(bootstrap.Node), Is.EqualTo(group));
            Assert.That(bootstrap.Node.Id, Is.Not.Empty);
            Assert.That(ads.ApiType, Is.EqualTo(ApiConfigSource.Types.ApiType.Grpc));
            Assert.That(ads.TransportApiVersion, Is.EqualTo(ApiVersion.V3));
            Assert.That(ads.GrpcServices.Single().EnvoyGrpc.ClusterName, Is.EqualTo("xds_control_plane"));
            Assert.That(bootstrap.DynamicResources.LdsConfig.Ads, Is.Not.Null);
            Assert.That(bootstrap.DynamicResources.CdsConfig.Ads, Is.Not.Null);
            Assert.That(controlPlane.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.PortValue, Is.EqualTo(18000));
            Assert.That(
                controlPlane.TypedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].Unpack<UpstreamHttpOptions>().ExplicitHttpConfig.Http2ProtocolOptions,
                Is.Not.Null,
                "gRPC to the control plane needs HTTP/2");
        });
    }

    [Test]
    public void Bootstrap_WithBrokenField_ReportedByTheValidator()
    {
        var text = File.ReadAllText(RepoDirectory.Path("envoy-bootstrap", "gateway.yaml")).Replace("connect_timeout: 2s", "connect_timeout: -2s", StringComparison.Ordinal);

        var validation = EnvoyRulesValidator.Default.Validate(ParseBootstrap(text));

        Assert.That(validation.Violations.Select(v => v.ToString()), Has.Some.Contains("connect_timeout"));
    }

    [Test]
    public void GrpcBootstrap_ShippedFile_SelectsTheGrpcGroupOverInsecureV3()
    {
        var json = JsonNode.Parse(File.ReadAllText(RepoDirectory.Path("envoy-bootstrap", "grpc-bootstrap.json")))!;
        var server = json["xds_servers"]![0]!;
        var node = EnvoyTypeCatalog.JsonParser.Parse<Node>(json["node"]!.ToJsonString());

        Assert.Multiple(() =>
        {
            Assert.That((string?)server["server_uri"], Does.EndWith(":18000"));
            Assert.That((string?)server["channel_creds"]![0]!["type"], Is.EqualTo("insecure"));
            Assert.That(server["server_features"]!.AsArray().Select(f => (string?)f), Does.Contain("xds_v3"));
            Assert.That(new DataPlaneGroupResolver().GroupOf(node), Is.EqualTo(DataPlaneRoles.Grpc));
        });
    }

    private static Bootstrap ParseBootstrap(string yaml) =>
        EnvoyTypeCatalog.JsonParser.Parse<Bootstrap>(YamlJson.Convert(yaml)!.ToJsonString());
}
