using Envoy.Config.Core.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using TcpProxy = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// <see cref="TypedConfigs"/> packs and unpacks <c>Any</c> by its table of type URLs exactly as Google.Protobuf does by
/// descriptor: each entry names its type as the descriptor does, and a type outside the table still packs.
/// </summary>
public sealed class TypedConfigsTests
{
    private static IEnumerable<TestCaseData> Entries() =>
        TypedConfigs.Known.Select(e => new TestCaseData(e.Key, e.Value).SetArgDisplayNames(e.Key.Name));

    [TestCaseSource(nameof(Entries))]
    public void Table_Entry_IsTheDescriptorsTypeUrlAndPacksAsAnyPack(System.Type type, string typeUrl)
    {
        var message = (IMessage)Activator.CreateInstance(type)!;

        Assert.Multiple(() =>
        {
            Assert.That(typeUrl, Is.EqualTo("type.googleapis.com/" + message.Descriptor.FullName));
            Assert.That(TypedConfigs.Pack(message), Is.EqualTo(Any.Pack(message)));
        });
    }

    [Test]
    public void Pack_TypeOutsideTheTable_PacksAsAnyPack()
    {
        var node = new Node { Id = "n" };

        Assert.That(TypedConfigs.Pack(node), Is.EqualTo(Any.Pack(node)));
    }

    [Test]
    public void TryUnpack_MatchingTypeName_ReadsTheMessageWhateverThePrefix()
    {
        var hcm = new Hcm { StatPrefix = "ingress" };
        var other = new Any { TypeUrl = "example.com/types/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", Value = hcm.ToByteString() };

        Assert.Multiple(() =>
        {
            Assert.That(TypedConfigs.TryUnpack<Hcm>(TypedConfigs.Pack(hcm), out var unpacked), Is.True);
            Assert.That(unpacked, Is.EqualTo(hcm));
            Assert.That(TypedConfigs.TryUnpack<Hcm>(other, out var fromOtherPrefix), Is.True);
            Assert.That(fromOtherPrefix, Is.EqualTo(hcm));
            Assert.That(TypedConfigs.TryUnpack<TcpProxy>(TypedConfigs.Pack(hcm), out var wrong), Is.False);
            Assert.That(wrong, Is.Null);
            Assert.That(TypedConfigs.TryUnpack<Node>(Any.Pack(new Node { Id = "n" }), out var outside), Is.True, "a type outside the table unpacks by descriptor");
            Assert.That(outside!.Id, Is.EqualTo("n"));
        });
    }
}
