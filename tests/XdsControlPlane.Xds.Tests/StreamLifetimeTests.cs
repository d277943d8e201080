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

    [TestCase(0, "MaxStreamAge must be positive (or infinite), got 00:00:00.")]
    [TestCase(60, "MaxStreamAge must be at most 30 days (or infinite), got 60.00:00:00.")]
    public void Options_MaxAgeOutOfRange_FailStartNamingTheSetting(int days, string expected)
    {
        var failure = Assert.ThrowsAsync<OptionsValidationException>(async () => await XdsTestServer.StartAsync(configure: options => options.MaxStreamAge = TimeSpan.FromDays(days)));

        Assert.That(failure!.Message, Does.Contain(expected));
    }
}
