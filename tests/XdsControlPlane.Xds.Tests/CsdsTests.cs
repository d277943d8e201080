using Envoy.Admin.V3;
using Envoy.Service.Status.V3;
using Envoy.Type.Matcher.V3;
using Grpc.Core;
using static XdsControlPlane.Xds.Tests.AdsTestClient;

namespace XdsControlPlane.Xds.Tests;

/// <summary>CSDS over real gRPC: what each connected client holds, ACKed or NACKed.</summary>
public sealed class CsdsTests : ServerPerTest
{
    [Test]
    public async Task FetchClientStatus_AckingAndNackingClients_ShowsBothStates()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var good = Open(Server.Channel, XdsTestServer.Node("envoy-good"));
        await using var bad = Open(Server.Channel, XdsTestServer.Node("envoy-bad"));
        var toGood = await good.RequestAsync(TypeUrls.Cluster);
        var beforeAck = DateTimeOffset.UtcNow.AddSeconds(-1);
        await good.AckAsync(toGood);
        await good.AssertNothingSentAsync();
        var toBad = await bad.RequestAsync(TypeUrls.Cluster);
        await bad.NackAsync(toBad, string.Empty, "cluster cart: unknown field");
        await bad.AssertNothingSentAsync();
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(Server.Channel);

        var status = await csds.FetchClientStatusAsync(new ClientStatusRequest());

        var byNode = status.Config.ToDictionary(c => c.Node.Id, c => c.GenericXdsConfigs.Single());
        Assert.Multiple(() =>
        {
            Assert.That(byNode.Keys, Is.EquivalentTo(new[] { "envoy-good", "envoy-bad" }));
            Assert.That(
                (byNode["envoy-good"].Name, byNode["envoy-good"].ConfigStatus, byNode["envoy-good"].ClientStatus),
                Is.EqualTo(("cart", ConfigStatus.Synced, ClientResourceStatus.Acked)));
            Assert.That(
                (byNode["envoy-bad"].ConfigStatus, byNode["envoy-bad"].ClientStatus, byNode["envoy-bad"].ErrorState?.Details),
                Is.EqualTo((ConfigStatus.Error, ClientResourceStatus.Nacked, "cluster cart: unknown field")));
            Assert.That(byNode["envoy-good"].VersionInfo, Is.EqualTo(Server.Cache.GetSnapshot(XdsTestServer.Group)!.Snapshot.Find(TypeUrls.Cluster, "cart")!.Version));
            Assert.That(byNode["envoy-good"].XdsConfig.TypeUrl, Is.EqualTo(TypeUrls.Cluster));
            Assert.That(byNode["envoy-good"].LastUpdated?.ToDateTimeOffset(), Is.InRange(beforeAck, DateTimeOffset.UtcNow), "last_updated: when the client ACKed");
            Assert.That(byNode["envoy-bad"].LastUpdated, Is.Null, "never ACKed");
        });
    }

    [Test]
    public async Task FetchClientStatus_NodeIdMatcherAndExcludedContents_AreHonoured()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var gateway = Open(Server.Channel, XdsTestServer.Node("gateway-0"));
        await using var sidecar = Open(Server.Channel, XdsTestServer.Node("sidecar-0"));
        await gateway.RequestAsync(TypeUrls.Cluster);
        await sidecar.RequestAsync(TypeUrls.Cluster);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(Server.Channel);

        var status = await csds.FetchClientStatusAsync(new ClientStatusRequest
        {
            NodeMatchers = { new NodeMatcher { NodeId = new StringMatcher { Prefix = "gateway-" } } },
            ExcludeResourceContents = true,
        });

        Assert.Multiple(() =>
        {
            Assert.That(status.Config.Select(c => c.Node.Id), Is.EqualTo(new[] { "gateway-0" }));
            Assert.That(status.Config[0].GenericXdsConfigs[0].XdsConfig, Is.Null);
            Assert.That(status.Config[0].GenericXdsConfigs[0].ConfigStatus, Is.EqualTo(ConfigStatus.Stale), "sent, not yet ACKed");
        });
    }

    /// <summary>One client's huge node and NACK text are kept as bounded, printable copies: CSDS stays small for everyone.</summary>
    [Test]
    public async Task FetchClientStatus_HugeNodeAndNack_AnswersWithBoundedPrintableCopies()
    {
        await using var server = await XdsTestServer.StartAsync(configure: options => options.MaxRequestBytes = 32 * 1024 * 1024);
        server.Publish(TestResources.Snapshot("cart"));
        var node = RequestLimitTests.NodeWithMetadata("huge\u001b[31m\r\n" + new string('n', 100_000), 5_000_000);
        node.Metadata.Fields["sandboxctl.io/role"] = Google.Protobuf.WellKnownTypes.Value.ForString("sidecar");
        node.Extensions.Add(Enumerable.Range(0, 1000).Select(i => new Envoy.Config.Core.V3.Extension { Name = $"envoy.extension.{i}", Category = "envoy.filters" }));
        node.ClientFeatures.Add(Enumerable.Range(0, 10_000).Select(i => $"feature-{i}"));
        await using var huge = Open(server.Channel, node);
        await huge.NackAsync(await huge.RequestAsync(TypeUrls.Cluster), string.Empty, "line one\nline two\u001b]0;title\u0007" + new string('e', 5_000_000));
        await huge.AssertNothingSentAsync();
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(server.Channel);

        var status = await csds.FetchClientStatusAsync(new ClientStatusRequest { ExcludeResourceContents = true });

        var kept = status.Config.Single();
        var error = kept.GenericXdsConfigs.Single(c => c.TypeUrl == TypeUrls.Cluster).ErrorState.Details;
        Assert.Multiple(() =>
        {
            Assert.That(status.CalculateSize(), Is.LessThan(16 * 1024), "the answer does not carry what the client sent");
            Assert.That(kept.Node.Id, Does.StartWith("huge?[31m??nnn").And.EndWith("…").And.Length.EqualTo(ClientText.MaxNameLength + 1));
            Assert.That(kept.Node.Metadata.Fields.Keys, Is.EquivalentTo(new[] { "sandboxctl.io/role", "sandboxctl.io/metadata-dropped" }));
            Assert.That(kept.Node.Metadata.Fields["sandboxctl.io/metadata-dropped"].StringValue, Does.Match("^5000[0-9]{3} bytes of metadata, more than the 16384 kept$"));
            Assert.That(kept.Node.Extensions, Is.Empty);
            Assert.That(kept.Node.ClientFeatures, Has.Count.EqualTo(64));
            Assert.That(error, Does.StartWith("line one line two?]0;title?eee").And.EndWith("…").And.Length.EqualTo(ClientText.MaxMessageLength + 1));
        });
    }

    [Test]
    public async Task FetchClientStatus_SmallNode_IsKeptAsSent()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        var node = XdsTestServer.Node("envoy-1");
        node.Metadata = new Google.Protobuf.WellKnownTypes.Struct { Fields = { ["sandboxctl.io/role"] = Google.Protobuf.WellKnownTypes.Value.ForString("sidecar"), ["ISTIO_VERSION"] = Google.Protobuf.WellKnownTypes.Value.ForString("1.24.0") } };
        node.Locality = new Envoy.Config.Core.V3.Locality { Region = "eu", Zone = "eu-west-1a" };
        node.UserAgentName = "envoy";
        node.UserAgentBuildVersion = new Envoy.Config.Core.V3.BuildVersion { Version = new Envoy.Type.V3.SemanticVersion { MajorNumber = 1, MinorNumber = 31, Patch = 2 } };
        node.ClientFeatures.Add("envoy.lb.does_not_support_overprovisioning");
        await using var client = Open(Server.Channel, node);
        await client.RequestAsync(TypeUrls.Cluster);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(Server.Channel);

        var kept = (await csds.FetchClientStatusAsync(new ClientStatusRequest())).Config.Single().Node;

        Assert.That(kept, Is.EqualTo(node));
    }

    [Test]
    public async Task FetchClientStatus_SafeRegexMatcher_MatchesWholeIds()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        await using var first = Open(Server.Channel, XdsTestServer.Node("sidecar-1"));
        await using var second = Open(Server.Channel, XdsTestServer.Node("sidecar-12"));
        await first.RequestAsync(TypeUrls.Cluster);
        await second.RequestAsync(TypeUrls.Cluster);
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(Server.Channel);

        var status = await csds.FetchClientStatusAsync(new ClientStatusRequest { NodeMatchers = { new NodeMatcher { NodeId = new StringMatcher { SafeRegex = new RegexMatcher { Regex = "sidecar-[0-9]" } } } } });

        Assert.That(status.Config.Select(c => c.Node.Id), Is.EqualTo(new[] { "sidecar-1" }));
    }

    [TestCase("(", "node_matchers[].node_id.safe_regex: not a usable regular expression: ")]
    [TestCase("(a)\\1", "node_matchers[].node_id.safe_regex: not a usable regular expression: ")]
    public void FetchClientStatus_UnusableRegex_IsRejectedNamingTheField(string pattern, string expected)
    {
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(Server.Channel);

        var failure = Assert.ThrowsAsync<RpcException>(async () => await csds.FetchClientStatusAsync(new ClientStatusRequest
        {
            NodeMatchers = { new NodeMatcher { NodeId = new StringMatcher { SafeRegex = new RegexMatcher { Regex = pattern } } } },
        }));

        Assert.That(failure!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(failure.Status.Detail, Does.StartWith(expected));
    }

    [Test]
    public async Task FetchClientStatus_CatastrophicRegexAgainstLongIds_AnswersWithoutBacktracking()
    {
        Server.Publish(TestResources.Snapshot("cart"));
        var clients = new List<AdsTestClient>();
        for (var i = 0; i < 20; i++)
        {
            var client = Open(Server.Channel, XdsTestServer.Node(new string('a', 400) + i));
            await client.RequestAsync(TypeUrls.Cluster);
            clients.Add(client);
        }

        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(Server.Channel);

        // (a+)+b against 400 a's backtracks for ages (a backtracking engine gives up with a timeout error); a
        // non-backtracking one answers that nothing matches. The deadline is only this test's timeout.
        var status = await csds.FetchClientStatusAsync(
            new ClientStatusRequest { NodeMatchers = { new NodeMatcher { NodeId = new StringMatcher { SafeRegex = new RegexMatcher { Regex = "(a+)+b" } } } } },
            deadline: DateTime.UtcNow.AddSeconds(10));

        Assert.That(status.Config, Is.Empty);
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Test]
    public void FetchClientStatus_MetadataMatcher_IsRejectedClearly()
    {
        var csds = new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(Server.Channel);

        var failure = Assert.ThrowsAsync<RpcException>(async () => await csds.FetchClientStatusAsync(new ClientStatusRequest
        {
            NodeMatchers = { new NodeMatcher { NodeMetadatas = { new StructMatcher() } } },
        }));

        Assert.That((failure!.StatusCode, failure.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "node_matchers[].node_metadatas is not supported; match on node_id")));
    }

    /// <summary>A CSDS client that resets its stream (Kestrel fails the read before it cancels the call) ends it quietly.</summary>
    [Test]
    public async Task StreamClientStatus_ClientReset_EndsWithoutAnError()
    {
        var requests = new ScriptedRequests<ClientStatusRequest>();
        var responses = new CollectedResponses<ClientStatusResponse>();
        var service = new ClientStatusDiscoveryServiceImpl(new ClientRegistry());
        var running = service.StreamClientStatus(requests, responses, new CallOf(CancellationToken.None));
        requests.Add(new ClientStatusRequest());
        await responses.NextAsync();

        requests.Reset();

        Assert.That(async () => await running, Throws.Nothing, "no exception for gRPC to log as a server error");
    }

    /// <summary>The call context of a call that is never cancelled: only its token is read.</summary>
    private sealed class CallOf(CancellationToken cancellationToken) : ServerCallContext
    {
        protected override string MethodCore => "/envoy.service.status.v3.ClientStatusDiscoveryService/StreamClientStatus";

        protected override string HostCore => "localhost";

        protected override string PeerCore => "ipv4:127.0.0.1:1";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => cancellationToken;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore => new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
