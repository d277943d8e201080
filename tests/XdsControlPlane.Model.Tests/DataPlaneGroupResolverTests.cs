using Envoy.Config.Core.V3;
using Google.Protobuf.WellKnownTypes;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Model.Tests;

public sealed class DataPlaneGroupResolverTests
{
    [TestCase("gateway", "", "", "gateway")]
    [TestCase("sidecar", "", "", "sidecar")]
    [TestCase(null, "", "", "sidecar")]
    [TestCase("something-else", "", "", "sidecar")]
    [TestCase("grpc", "gRPC Node Pure JS", "1.14.1", "grpc")]
    [TestCase("grpc", "gRPC C-core linux Python", "C-core 1.51.1 Python 1.51.1", "grpc-legacy")]
    [TestCase("grpc", "gRPC C-core linux", "C-core 1.60.0", "grpc")]
    [TestCase("grpc", "gRPC C-core linux", "", "grpc")]
    [TestCase("grpc", "gRPC C-core", "1.51.1", "grpc-legacy")]
    [TestCase("grpc", "gRPC C-core", "1.59.0-pre1", "grpc-legacy")]
    [TestCase("grpc", "gRPC C-core", "1.60.0", "grpc")]
    [TestCase("gateway", "gRPC C-core", "1.51.1", "gateway")]
    public void GroupOf_RoleAndUserAgent_Group(string? role, string userAgent, string version, string expected)
    {
        var node = new Node { Id = "n", UserAgentName = userAgent, UserAgentVersion = version, Metadata = new Struct() };
        if (role is not null)
        {
            node.Metadata.Fields["sandboxctl.io/role"] = Value.ForString(role);
        }

        Assert.That(new DataPlaneGroupResolver().GroupOf(node), Is.EqualTo(expected));
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
