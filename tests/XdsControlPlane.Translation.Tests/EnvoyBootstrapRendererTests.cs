using Envoy.Config.Bootstrap.V3;
using Envoy.Config.Cluster.V3;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Translation.Tests;

/// <summary>The bootstrap built from the Envoy types: equal to the shipped files by default, valid, and round-tripping through YAML and JSON.</summary>
public sealed class EnvoyBootstrapRendererTests
{
    private const string ShippedHost = "xds-control-plane.sandboxctl-system.svc.cluster.local";

    [TestCase(DataPlaneRoles.Gateway)]
    [TestCase(DataPlaneRoles.Sidecar)]
    public void Build_Defaults_EqualTheShippedFile(string role)
    {
        var shipped = Parse(File.ReadAllText(RepoDirectory.Path("envoy-bootstrap", role + ".yaml")));

        var built = EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest { Role = role, XdsHost = ShippedHost, XdsPort = 18000 });

        Assert.That(built, Is.EqualTo(shipped), () => $"built:   {EnvoyBootstrapRenderer.ToJson(built)}\nshipped: {EnvoyBootstrapRenderer.ToJson(shipped)}");
    }

    [TestCase(DataPlaneRoles.Gateway)]
    [TestCase(DataPlaneRoles.Sidecar)]
    public void ToYaml_Built_ParsesBackToTheSameBootstrapAndIsValid(string role)
    {
        var built = EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest { Role = role, XdsHost = "10.0.0.5", XdsPort = 18001, NodeId = "pod-1.shop", NodeCluster = "shop", Zone = "eu-west-1a" });

        var yaml = EnvoyBootstrapRenderer.ToYaml(built);

        Assert.Multiple(() =>
        {
            Assert.That(Parse(yaml), Is.EqualTo(built));
            Assert.That(EnvoyTypeCatalog.JsonParser.Parse<Bootstrap>(EnvoyBootstrapRenderer.ToJson(built).ToJsonString()), Is.EqualTo(built));
            Assert.That(EnvoyBootstrapRenderer.Validate(built).Violations, Is.Empty);
            Assert.That(yaml, Does.StartWith("# Envoy bootstrap for a sandboxctl " + role));
            Assert.That(yaml, Does.Contain("set_node_on_first_message_only: true"), "proto field names, as Envoy's own examples");
            Assert.That((built.Node.Id, built.Node.Cluster, built.Node.Locality.Zone), Is.EqualTo(("pod-1.shop", "shop", "eu-west-1a")));
            Assert.That(new DataPlaneGroupResolver().GroupOf(built.Node), Is.EqualTo(role));
        });
    }

    [TestCase("::1", "V6Only")]
    [TestCase("10.0.0.5", "V4Preferred")]
    [TestCase("xds.example", "V4Preferred")]
    public void Build_Host_PicksTheDnsLookupFamily(string host, string family)
    {
        var built = EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest { Role = DataPlaneRoles.Gateway, XdsHost = host, XdsPort = 18000 });

        var cluster = built.StaticResources.Clusters.Single(c => c.Name == EnvoyBootstrapRenderer.ControlPlaneCluster);
        Assert.Multiple(() =>
        {
            Assert.That(cluster.DnsLookupFamily.ToString(), Is.EqualTo(family));
            Assert.That(cluster.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.Address, Is.EqualTo(host));
            Assert.That(cluster.Type, Is.EqualTo(Cluster.Types.DiscoveryType.StrictDns));
        });
    }

    [TestCase("grpc", 18000)]
    [TestCase("mesh", 18000)]
    [TestCase("gateway", 0)]
    [TestCase("gateway", 65536)]
    public void Build_BadRequest_Throws(string role, int port) =>
        Assert.That(() => EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest { Role = role, XdsHost = "xds", XdsPort = port }), Throws.InstanceOf<ArgumentException>());

    private static Bootstrap Parse(string yaml) => EnvoyTypeCatalog.JsonParser.Parse<Bootstrap>(YamlJson.Convert(yaml)!.ToJsonString());
}
