using static XdsControlPlane.Xds.Tests.AdsTestClient;

namespace XdsControlPlane.Xds.Tests;

/// <summary>Prometheus metrics as a scrape would see them.</summary>
public sealed class MetricsTests
{
    [Test]
    public async Task Scrape_AfterPushesAckAndNack_CountsThem()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(TestResources.Snapshot("cart"));
        await using var client = Open(server.Channel);
        var clusters = await client.RequestAsync(TypeUrls.Cluster);
        await client.AckAsync(clusters);
        var endpoints = await client.RequestAsync(TypeUrls.ClusterLoadAssignment, "cart");
        await client.NackAsync(endpoints, string.Empty, "bad endpoints", "cart");
        await client.AssertNothingSentAsync();

        var scrape = await server.ScrapeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(scrape, Does.Contain("xds_connected_streams{protocol=\"sotw\",group=\"sidecar/shop\"} 1"));
            Assert.That(scrape, Does.Contain("xds_pushes_total{type=\"CDS\"} 1"));
            Assert.That(scrape, Does.Contain("xds_pushes_total{type=\"EDS\"} 1"));
            Assert.That(scrape, Does.Contain($"xds_push_bytes_total{{type=\"CDS\"}} {clusters.CalculateSize()}"));
            Assert.That(scrape, Does.Contain("xds_nacks_total{type=\"EDS\"} 1"));
            Assert.That(scrape, Does.Contain("xds_snapshot_to_ack_seconds_count{type=\"CDS\"} 1"));
        });
    }

    [Test]
    public async Task Scrape_AfterStreamCloses_StreamGaugeReturnsToZero()
    {
        await using var server = await XdsTestServer.StartAsync();
        server.Publish(TestResources.Snapshot("cart"));
        var client = Open(server.Channel);
        await client.RequestAsync(TypeUrls.Cluster);

        await client.DisposeAsync();

        Assert.That(async () => await server.ScrapeAsync(), Does.Contain("xds_connected_streams{protocol=\"sotw\",group=\"sidecar/shop\"} 0").After(5000, 20));
    }
}
