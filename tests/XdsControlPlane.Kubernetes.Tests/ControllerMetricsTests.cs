using System.Collections.Concurrent;
using System.Text;
using Prometheus;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>The controllers' metrics: recorded in the registry they are given, under the names dashboards use.</summary>
public sealed class ControllerMetricsTests
{
    [Test]
    public async Task Scrape_OfTheGivenRegistry_ShowsQueueAndReconcileMetricsByController()
    {
        var registry = Metrics.NewCustomRegistry();
        var metrics = new ControllerMetrics(Metrics.WithCustomRegistry(registry));
        using var queue = new WorkQueue<string>("test-metrics", TimeProvider.System, metrics);
        queue.Add("shop/a");
        queue.Add("shop/b");
        var queued = await ScrapeAsync(registry);

        using var stop = new CancellationTokenSource();
        var processed = new ConcurrentQueue<string>();
        var workers = queue.RunAsync(1, (key, _) => Task.Run(() => processed.Enqueue(key)), stop.Token);
        await Eventually.WaitAsync(() => processed.Count == 2 && queue.IsIdle, "both keys processed");
        await stop.CancelAsync();
        await workers;
        metrics.Reconciled("test-metrics", "success");
        metrics.ReconcileTook("test-metrics", TimeSpan.FromMilliseconds(5));
        var taken = await ScrapeAsync(registry);

        Assert.Multiple(() =>
        {
            Assert.That(queued, Does.Contain("sandboxctl_controller_queue_depth{controller=\"test-metrics\"} 2"));
            Assert.That(taken, Does.Contain("sandboxctl_controller_queue_depth{controller=\"test-metrics\"} 0"));
            Assert.That(taken, Does.Contain("sandboxctl_controller_queue_latency_seconds_count{controller=\"test-metrics\"} 2"));
            Assert.That(taken, Does.Contain("sandboxctl_controller_reconcile_total{controller=\"test-metrics\",result=\"success\"} 1"));
            Assert.That(taken, Does.Contain("sandboxctl_controller_reconcile_duration_seconds_count{controller=\"test-metrics\"} 1"));
        });
    }

    private static async Task<string> ScrapeAsync(CollectorRegistry registry)
    {
        using var scrape = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(scrape);
        return Encoding.UTF8.GetString(scrape.ToArray());
    }
}
