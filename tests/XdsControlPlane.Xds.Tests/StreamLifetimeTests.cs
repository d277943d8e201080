using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static XdsControlPlane.Xds.Tests.AdsTestClient;

namespace XdsControlPlane.Xds.Tests;

/// <summary>Stream lifetime: the maximum age that makes clients rebalance across replicas.</summary>
public sealed class StreamLifetimeTests
{
    [Test]
    public async Task Stream_OlderThanMaxAge_IsEndedCleanly()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        await using var server = await XdsTestServer.StartAsync(clock, options => options.MaxStreamAge = TimeSpan.FromMinutes(10));
        server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(server.Channel);
        await client.AckAsync(await client.RequestAsync(TypeUrls.Cluster));
        await client.AssertNothingSentAsync();

        clock.Advance(TimeSpan.FromMinutes(8)); // within 10 min - 10% jitter: still open
        await client.AssertNothingSentAsync();
        clock.Advance(TimeSpan.FromMinutes(4)); // beyond 10 min + 10% jitter

        Assert.That(async () => await client.ReceiveAsync(), Throws.InstanceOf<ChannelClosedException>().With.InnerException.Null, "the stream ended with status OK");
    }

    /// <summary>A stopping server ends its streams with status OK, so clients reconnect to another replica at once.</summary>
    [Test]
    public async Task Stream_ServerStopping_IsEndedCleanly()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(server.Channel);
        await client.AckAsync(await client.RequestAsync(TypeUrls.Cluster));
        await client.AssertNothingSentAsync();

        server.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        Assert.That(async () => await client.ReceiveAsync(), Throws.InstanceOf<ChannelClosedException>().With.InnerException.Null, "the stream ended with status OK");
    }

    /// <summary>
    /// A client that resets its stream: Kestrel fails the pending read with an <see cref="IOException"/> before it cancels
    /// the call's token (it cancels on the thread pool). The stream ends as when the client half-closes — leaves the
    /// registry, and does not throw on into gRPC, which would log "Error when executing service method" (a busy-core CI
    /// run failed on that line).
    /// </summary>
    [Test]
    public async Task Stream_ClientResetBeforeTheCallIsCancelled_EndsWithoutAnError()
    {
        var cache = new SnapshotCache();
        cache.SetSnapshot(XdsTestServer.Group, TestResources.Snapshot("cart"));
        var registry = new ClientRegistry();
        var requests = new ScriptedRequests<Envoy.Service.Discovery.V3.DiscoveryRequest>();
        var responses = new CollectedResponses<Envoy.Service.Discovery.V3.DiscoveryResponse>();
        var groups = new GatedGroupResolver();
        groups.Release();
        var context = new XdsStreamContext(cache, groups, registry, TimeProvider.System, new XdsMetrics(Prometheus.Metrics.NewCustomRegistry()), new XdsServerOptions(), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var call = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // not cancelled by the reset, as in Kestrel
        var running = new SotwStream(context, fixedTypeUrl: null).RunAsync(requests, responses, call.Token);
        requests.Add(new Envoy.Service.Discovery.V3.DiscoveryRequest { Node = XdsTestServer.Node(), TypeUrl = TypeUrls.Cluster });
        await responses.NextAsync();
        Assert.That(registry.Clients, Has.Count.EqualTo(1));

        requests.Reset();

        Assert.That(async () => await running, Throws.Nothing, "the stream ends without an exception for gRPC to log");
        Assert.That(registry.Clients, Is.Empty, "and leaves the registry");
    }

    [TestCase(0, "MaxStreamAge must be positive (or infinite), got 00:00:00.")]
    [TestCase(60, "MaxStreamAge must be at most 30 days (or infinite), got 60.00:00:00.")]
    public void Options_MaxAgeOutOfRange_FailStartNamingTheSetting(int days, string expected)
    {
        var failure = Assert.ThrowsAsync<OptionsValidationException>(async () => await XdsTestServer.StartAsync(configure: options => options.MaxStreamAge = TimeSpan.FromDays(days)));

        Assert.That(failure!.Message, Does.Contain(expected));
    }
}
