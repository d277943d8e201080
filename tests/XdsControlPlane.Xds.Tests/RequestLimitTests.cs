using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// The request size limit (<see cref="XdsServerOptions.MaxRequestBytes"/>, 4 MiB by default as gRPC and istiod): a
/// larger request ends only its own stream, with gRPC's RESOURCE_EXHAUSTED; every other stream goes on.
/// </summary>
public sealed class RequestLimitTests
{
    private const int FiveMegabytes = 5 * 1000 * 1000;

    [Test]
    public async Task SotwRequest_OverTheDefaultLimit_EndsOnlyThatStreamWithResourceExhausted()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(TestResources.Snapshot("cart"));
        await using var healthy = AdsTestClient.Open(server.Channel, XdsTestServer.Node("healthy"));
        await healthy.AckAsync(await healthy.RequestAsync(TypeUrls.Cluster));
        await using var hostile = AdsTestClient.Open(server.Channel, NodeWithMetadata("hostile", FiveMegabytes));

        await SendRefusedAsync(() => hostile.SendAsync(TypeUrls.Cluster));
        var failure = await hostile.ExpectFailureAsync();
        server.Publish(TestResources.Snapshot("cart", "checkout"));
        var pushed = await healthy.ReceiveAsync();
        await using var later = AdsTestClient.Open(server.Channel, XdsTestServer.Node("later"));
        var served = await later.RequestAsync(TypeUrls.Cluster);

        Assert.Multiple(() =>
        {
            Assert.That(failure.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), failure.Status.Detail);
            Assert.That(AdsTestClient.Names(pushed), Is.EqualTo(new[] { "cart", "checkout" }), "the stream opened before still gets pushes");
            Assert.That(AdsTestClient.Names(served), Is.EqualTo(new[] { "cart", "checkout" }), "a stream opened after is served");
            Assert.That(server.Registry.Clients.Select(c => c.Node.Id), Is.EquivalentTo(new[] { "healthy", "later" }), "the hostile node was never registered");
        });
    }

    [Test]
    public async Task DeltaRequest_OverTheDefaultLimit_EndsOnlyThatStreamWithResourceExhausted()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(TestResources.Snapshot("cart"));
        await using var healthy = DeltaTestClient.Open(server.Channel, XdsTestServer.Node("healthy"));
        await healthy.AckAsync(await healthy.SubscribeAsync(TypeUrls.Cluster));
        await using var hostile = DeltaTestClient.Open(server.Channel, XdsTestServer.Node("hostile"));

        // A reconnect that claims to hold five million bytes' worth of resources.
        var reconnect = new DeltaDiscoveryRequest { TypeUrl = TypeUrls.ClusterLoadAssignment };
        for (var i = 0; i < 100_000; i++)
        {
            reconnect.InitialResourceVersions[$"cluster-with-a-rather-long-name-{i:D8}"] = "0123456789abcdef";
        }

        await SendRefusedAsync(() => hostile.SendAsync(reconnect));
        var failure = await hostile.ExpectFailureAsync();
        server.Publish(TestResources.Snapshot("cart", "checkout"));
        var pushed = await healthy.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(reconnect.CalculateSize(), Is.GreaterThan(XdsServerOptions.DefaultMaxRequestBytes), "the request is over the limit");
            Assert.That(failure.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), failure.Status.Detail);
            Assert.That(DeltaTestClient.Names(pushed), Is.EqualTo(new[] { "checkout" }), "the other stream still gets pushes");
        });
    }

    [Test]
    public async Task Request_UnderARaisedLimit_IsAccepted()
    {
        await using var server = await XdsTestServer.StartAsync(configure: options => options.MaxRequestBytes = 16 * 1024 * 1024);
        server.Publish(TestResources.Snapshot("cart"));
        await using var client = AdsTestClient.Open(server.Channel, NodeWithMetadata("big-but-allowed", FiveMegabytes));

        var reply = await client.RequestAsync(TypeUrls.Cluster);

        Assert.That(AdsTestClient.Names(reply), Is.EqualTo(new[] { "cart" }));
    }

    [Test]
    public async Task TypeUrl_LongerThan256Characters_FailsStreamWithInvalidArgument()
    {
        await using var server = await XdsTestServer.StartAsync();
        await using var client = AdsTestClient.Open(server.Channel);

        await client.SendAsync("type.googleapis.com/" + new string('x', 1_000_000));
        var failure = await client.ExpectFailureAsync();

        Assert.That((failure.StatusCode, failure.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "type_url must be at most 256 characters, got 1000020")));
    }

    [Test]
    public async Task SeventeenthType_OnOneStream_FailsThatStreamWithInvalidArgument()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(TestResources.Snapshot("cart"));
        await using var other = AdsTestClient.Open(server.Channel, XdsTestServer.Node("other"));
        await other.AckAsync(await other.RequestAsync(TypeUrls.Cluster));
        await using var client = AdsTestClient.Open(server.Channel);
        for (var i = 1; i <= 16; i++)
        {
            await client.RequestAsync($"type.googleapis.com/xdscp.test.Type{i}"); // an unknown type gets an empty answer
        }

        await client.SendAsync("type.googleapis.com/xdscp.test.Type17");
        var failure = await client.ExpectFailureAsync();
        server.Publish(TestResources.Snapshot("cart", "checkout"));

        Assert.Multiple(async () =>
        {
            Assert.That((failure.StatusCode, failure.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "type_url type.googleapis.com/xdscp.test.Type17 would be type 17 on this stream; at most 16 are served per stream")));
            Assert.That(AdsTestClient.Names(await other.ReceiveAsync()), Is.EqualTo(new[] { "cart", "checkout" }), "the other stream is still served");
        });
    }

    [TestCase(65535, "MaxRequestBytes must be between 65536 (64 KiB) and 1073741824 (1 GiB), got 65535.")]
    [TestCase(int.MaxValue, "MaxRequestBytes must be between 65536 (64 KiB) and 1073741824 (1 GiB), got 2147483647.")]
    public void Options_MaxRequestBytesOutOfRange_FailStartNamingTheSetting(int bytes, string expected)
    {
        var failure = Assert.ThrowsAsync<OptionsValidationException>(async () => await XdsTestServer.StartAsync(configure: options => options.MaxRequestBytes = bytes));

        Assert.That(failure!.Message, Does.Contain(expected));
    }

    /// <summary>Sends a request the server refuses: it may end the call before the client has written it all.</summary>
    private static async Task SendRefusedAsync(Func<Task> send)
    {
        try
        {
            await send();
        }
        catch (RpcException)
        {
            // The call's status is read from the response stream.
        }
    }

    /// <summary>A node whose metadata carries <paramref name="bytes"/> characters of text.</summary>
    internal static Node NodeWithMetadata(string id, int bytes)
    {
        var node = XdsTestServer.Node(id);
        node.Metadata = new Struct { Fields = { ["blob"] = Value.ForString(new string('x', bytes)) } };
        return node;
    }
}
