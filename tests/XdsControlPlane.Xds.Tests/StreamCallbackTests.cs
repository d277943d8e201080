using System.Threading.Channels;
using Envoy.Service.Discovery.V3;
using Microsoft.Extensions.DependencyInjection;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// <see cref="IXdsStreamCallbacks"/> registered through DI and called by real streams on a loopback server: opened,
/// ACKed, NACKed, synced and closed, each after the client's status shows it; a throwing callback is logged and
/// neither ends the stream nor keeps the other callbacks from running.
/// </summary>
public sealed class StreamCallbackTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private RecordingCallbacks _events = null!;
    private CollectingLogs _logs = null!;
    private XdsTestServer _server = null!;

    [SetUp]
    public async Task StartServer()
    {
        (_events, _logs) = (new RecordingCallbacks(), new CollectingLogs()); // one fixture instance runs every test
        _server = await XdsTestServer.StartAsync(
            services: services =>
            {
                services.AddSingleton<IXdsStreamCallbacks>(new ThrowingCallbacks());
                services.AddSingleton<IXdsStreamCallbacks>(_events);
            },
            logs: _logs);
        _events.Registry = _server.Registry;
    }

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task Ack_CallsOpenedAckedAndSynced_AfterTheStatusShowsIt()
    {
        var (client, clusters, opened) = await OpenWithClustersAsync();
        await using var owned = client;
        Assert.That(opened, Is.EqualTo("opened 1 sotw envoy-1 sidecar/shop"));

        await client.AckAsync(clusters);
        var (acked, synced) = (await _events.NextAsync(), await _events.NextAsync());

        Assert.Multiple(() =>
        {
            Assert.That(acked, Is.EqualTo($"acked envoy-1 {TypeUrls.Cluster} {clusters.VersionInfo} {clusters.Nonce} (registry: acked {clusters.VersionInfo})"));
            Assert.That(synced, Is.EqualTo($"synced envoy-1 {_server.Cache.GetSnapshot(XdsTestServer.Group)!.Snapshot.Version}"));
            Assert.That(_logs.Messages, Has.Some.Contains("stream callback ThrowingCallbacks.OnAcked threw"));
        });
        await client.AssertNothingSentAsync(); // the throwing callback did not end the stream
    }

    [Test]
    public async Task Nack_CallsNackedWithTheRejectedVersionAndTheClientsMessage()
    {
        var (client, clusters, _) = await OpenWithClustersAsync();
        await using var owned = client;

        await client.NackAsync(clusters, previousVersion: "", "cluster cart: bad\nthing");

        Assert.That(await _events.NextAsync(), Is.EqualTo($"nacked envoy-1 {TypeUrls.Cluster} {clusters.VersionInfo} cluster cart: bad thing"));
        await client.AssertNothingSentAsync();
    }

    [Test]
    public async Task RequestAfterANack_NamingTheOlderVersion_IsNotAnAckOfTheRejectedOne()
    {
        _server.Publish(TestResources.Snapshot("a", "b"));
        await using var client = AdsTestClient.Open(_server.Channel);
        var first = await client.RequestAsync(TypeUrls.ClusterLoadAssignment, "a");
        Assert.That(await _events.NextAsync(), Does.StartWith("opened"));
        await client.NackAsync(first, previousVersion: "", "endpoint a rejected", "a");
        Assert.That(await _events.NextAsync(), Does.StartWith("nacked"));

        // The subscription grows after the NACK: the version the client holds (none), the latest nonce, no error.
        await client.SendAsync(new DiscoveryRequest { TypeUrl = TypeUrls.ClusterLoadAssignment, ResponseNonce = first.Nonce, ResourceNames = { "a", "b" } });
        var second = await client.ReceiveAsync();
        await client.AckAsync(second, "a", "b");

        Assert.That(
            await _events.NextAsync(),
            Is.EqualTo($"acked envoy-1 {TypeUrls.ClusterLoadAssignment} {second.VersionInfo} {second.Nonce} (registry: acked {second.VersionInfo})"),
            "the first ACK is of the response the client accepted, never of the one it rejected");
    }

    [Test]
    public async Task Close_CallsClosed_AfterTheClientLeftTheRegistry()
    {
        var (client, _, _) = await OpenWithClustersAsync();

        await client.DisposeAsync();

        Assert.That(await _events.NextAsync(), Is.EqualTo("closed envoy-1 (registry: 0 clients)"));
    }

    [Test]
    public async Task Delta_AckAndNack_CallTheSameCallbacks()
    {
        _server.Publish(TestResources.Snapshot("cart"));
        await using var client = DeltaTestClient.Open(_server.Channel);
        var clusters = await client.SubscribeAsync(TypeUrls.Cluster, "*");
        Assert.That(await _events.NextAsync(), Does.StartWith("opened 1 delta envoy-1"));

        await client.SendAsync(new DeltaDiscoveryRequest { TypeUrl = TypeUrls.Cluster, ResponseNonce = clusters.Nonce, ErrorDetail = new Google.Rpc.Status { Message = "no" } });
        Assert.That(await _events.NextAsync(), Is.EqualTo($"nacked envoy-1 {TypeUrls.Cluster} {clusters.SystemVersionInfo} no"));

        _server.Publish(TestResources.Snapshot("cart", "checkout"));
        var next = await client.ReceiveAsync();
        await client.AckAsync(next);
        var (acked, synced) = (await _events.NextAsync(), await _events.NextAsync());

        Assert.Multiple(() =>
        {
            Assert.That(acked, Is.EqualTo($"acked envoy-1 {TypeUrls.Cluster} {next.SystemVersionInfo} {next.Nonce} (registry: acked {next.SystemVersionInfo})"));
            Assert.That(synced, Is.EqualTo($"synced envoy-1 {next.SystemVersionInfo}"));
        });
    }

    /// <summary>A SotW client that received clusters, and the "opened" event its stream caused.</summary>
    private async Task<(AdsTestClient Client, DiscoveryResponse Clusters, string Opened)> OpenWithClustersAsync()
    {
        _server.Publish(TestResources.Snapshot("cart"));
        var client = AdsTestClient.Open(_server.Channel);
        var clusters = await client.RequestAsync(TypeUrls.Cluster);
        return (client, clusters, await _events.NextAsync());
    }

    /// <summary>Records each callback as one line, with what the registry showed at the time.</summary>
    private sealed class RecordingCallbacks : IXdsStreamCallbacks
    {
        private readonly Channel<string> _events = Channel.CreateUnbounded<string>();

        public ClientRegistry? Registry { get; set; }

        public void OnOpened(XdsStreamInfo stream) => _events.Writer.TryWrite($"opened {Registry!.Clients.Count} {stream.Protocol} {stream.Node.Id} {stream.Group}");

        public void OnAcked(XdsStreamInfo stream, string typeUrl, string? version, string nonce) =>
            _events.Writer.TryWrite($"acked {stream.Node.Id} {typeUrl} {version} {nonce} (registry: acked {Registry!.Clients.Single(c => c.StreamId == stream.StreamId).Types.Single(t => t.TypeUrl == typeUrl).AckedVersion})");

        public void OnNacked(XdsStreamInfo stream, string typeUrl, string? version, string errorDetail) => _events.Writer.TryWrite($"nacked {stream.Node.Id} {typeUrl} {version} {errorDetail}");

        public void OnSynced(XdsStreamInfo stream, string snapshotVersion) => _events.Writer.TryWrite($"synced {stream.Node.Id} {snapshotVersion}");

        public void OnClosed(XdsStreamInfo stream) => _events.Writer.TryWrite($"closed {stream.Node.Id} (registry: {Registry!.Clients.Count} clients)");

        public async Task<string> NextAsync()
        {
            using var timeout = new CancellationTokenSource(Timeout);
            return await _events.Reader.ReadAsync(timeout.Token);
        }
    }

    /// <summary>A callback that throws from every method.</summary>
    private sealed class ThrowingCallbacks : IXdsStreamCallbacks
    {
        public void OnOpened(XdsStreamInfo stream) => throw new InvalidOperationException("opened");

        public void OnAcked(XdsStreamInfo stream, string typeUrl, string? version, string nonce) => throw new InvalidOperationException("acked");

        public void OnNacked(XdsStreamInfo stream, string typeUrl, string? version, string errorDetail) => throw new InvalidOperationException("nacked");

        public void OnSynced(XdsStreamInfo stream, string snapshotVersion) => throw new InvalidOperationException("synced");

        public void OnClosed(XdsStreamInfo stream) => throw new InvalidOperationException("closed");
    }
}
