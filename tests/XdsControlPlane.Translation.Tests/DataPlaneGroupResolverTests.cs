using Envoy.Config.Core.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Translation.Tests;

public sealed class DataPlaneGroupResolverTests
{
    [TestCase("gateway", "gateway")]
    [TestCase("sidecar", "sidecar")]
    [TestCase(null, "sidecar")]
    [TestCase("something-else", "sidecar")]
    [TestCase("grpc", "grpc")]
    public void GroupOf_Role_Group(string? role, string expected)
    {
        var node = new Node { Id = "n", Metadata = new Struct() };
        if (role is not null)
        {
            node.Metadata.Fields["sandboxctl.io/role"] = Value.ForString(role);
        }

        Assert.That(new DataPlaneGroupResolver().GroupOf(node), Is.EqualTo(expected));
    }

    /// <summary>What real clients sent (tests/Shared/CapturedNodes): every proxyless gRPC client is in the one gRPC group, whatever its version.</summary>
    [TestCase("grpc-c-core-1.51.1-python.json")]
    [TestCase("grpc-js-xds-1.14.1.json")]
    public void GroupOf_CapturedGrpcClientNode_Grpc(string file)
    {
        var node = JsonParser.Default.Parse<Node>(File.ReadAllText(RepoDirectory.Path("tests", "Shared", "CapturedNodes", file)));

        Assert.Multiple(() =>
        {
            Assert.That(node.UserAgentName, Does.StartWith("gRPC "), "the fixture holds the client's own user agent");
            Assert.That(new DataPlaneGroupResolver().GroupOf(node), Is.EqualTo(DataPlaneRoles.Grpc));
        });
    }

    [Test]
    public void GroupOf_NodeWithoutMetadata_Sidecar() => Assert.That(new DataPlaneGroupResolver().GroupOf(new Node { Id = "n" }), Is.EqualTo("sidecar"));

    [Test]
    public void GroupOf_RoleThatIsNotAString_Sidecar()
    {
        var node = new Node { Id = "n", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForNumber(1) } } };

        Assert.That(new DataPlaneGroupResolver().GroupOf(node), Is.EqualTo("sidecar"));
    }
}
