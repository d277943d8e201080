using Envoy.Service.Discovery.V3;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using XdsControlPlane.Testing;
using static XdsControlPlane.Xds.Tests.AdsTestClient;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// Log lines about client behaviour are bounded (<see cref="XdsServerOptions.ClientLogLines"/> per kind and
/// <see cref="XdsServerOptions.ClientLogInterval"/>): a client NACKing every push or sending garbage costs a few lines,
/// the rest are counted and summarised once per interval; the clock is fake, so no test waits on the interval.
/// </summary>
public sealed class ClientLogBudgetTests
{
    private const int NackEvent = 2002;
    private const int MalformedEvent = 2011;
    private const int SummaryEvent = 2012;

    [Test]
    public async Task NackStorm_WritesTheBudget_CountsTheRest_AndOneSummaryWhenTheIntervalEnds()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var logs = new CollectingLogs();
        await using var server = await XdsTestServer.StartAsync(clock, options => options.ClientLogLines = 3, logs: logs);
        server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(server.Channel);
        var clusters = await client.RequestAsync(TypeUrls.Cluster);

        for (var i = 0; i < 50; i++)
        {
            await client.NackAsync(clusters, string.Empty, $"rejected #{i}");
        }

        await Eventually.WaitAsync(() => server.Registry.Clients.Single().Types.Single(t => t.TypeUrl == TypeUrls.Cluster).LastNack?.Message == "rejected #49", "the 50th NACK recorded");
        var nackLines = logs.Events.Count(e => e.EventId == NackEvent);
        var scrape = await server.ScrapeAsync();
        var summariesBefore = logs.Events.Count(e => e.EventId == SummaryEvent);

        clock.Advance(TimeSpan.FromMinutes(1));
        await Eventually.WaitAsync(() => logs.Events.Any(e => e.EventId == SummaryEvent), "the summary line once the interval ended");
        await client.NackAsync(clusters, string.Empty, "rejected after the interval");
        await Eventually.WaitAsync(() => logs.Events.Count(e => e.EventId == NackEvent) == 4, "a NACK of the next interval is written again");

        Assert.Multiple(() =>
        {
            Assert.That(nackLines, Is.EqualTo(3), "three NACK lines of fifty");
            Assert.That(scrape, Does.Contain("xds_client_log_lines_suppressed_total{kind=\"nack\"} 47"));
            Assert.That(scrape, Does.Contain("xds_nacks_total{type=\"CDS\"} 50"), "every NACK is still counted");
            Assert.That(summariesBefore, Is.Zero, "no summary before the interval ends");
            Assert.That(logs.Events.Where(e => e.EventId == SummaryEvent).Select(e => e.Message).Single(), Does.StartWith("47 more log lines of kind nack"));
            Assert.That(logs.Events.Where(e => e.EventId == NackEvent).Last().Message, Does.Contain("rejected after the interval"));
        });
    }

    [Test]
    public async Task MalformedRequest_EndsOnlyItsStreamWithInvalidArgument_AndOneBoundedLine()
    {
        var logs = new CollectingLogs();
        await using var server = await XdsTestServer.StartAsync(configure: options => options.ClientLogLines = 2, logs: logs);
        server.Publish(TestResources.Snapshot("cart"));
        await using var healthy = Open(server.Channel, XdsTestServer.Node("healthy"));
        await healthy.AckAsync(await healthy.RequestAsync(TypeUrls.Cluster));
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.DuplexStreaming, AggregatedDiscoveryService.Descriptor.FullName, "StreamAggregatedResources", bytes, bytes);

        var failures = new List<RpcException>();
        for (var i = 0; i < 5; i++)
        {
            using var call = server.Channel.CreateCallInvoker().AsyncDuplexStreamingCall(method, null, default);
            await call.RequestStream.WriteAsync(Enumerable.Repeat((byte)0xff, 1300).ToArray());
            failures.Add(Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext())!);
        }

        server.Publish(TestResources.Snapshot("cart", "checkout"));
        var pushed = await healthy.ReceiveAsync();

        Assert.Multiple(() =>
        {
            Assert.That(failures.Select(f => f.StatusCode), Is.All.EqualTo(StatusCode.InvalidArgument));
            Assert.That(failures[0].Status.Detail, Does.StartWith("the request is not a valid DiscoveryRequest: "));
            Assert.That(logs.Events.Count(e => e.EventId == MalformedEvent), Is.EqualTo(2), "two lines of five: the budget");
            Assert.That(logs.Events.Where(e => e.Level >= LogLevel.Error), Is.Empty, "a client's garbage is not a server error");
            Assert.That(Names(pushed), Is.EqualTo(new[] { "cart", "checkout" }), "the healthy stream is still served");
        });
    }
}
