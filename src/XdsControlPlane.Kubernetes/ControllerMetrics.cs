using Prometheus;

namespace XdsControlPlane.Kubernetes;

/// <summary>
/// Prometheus metrics of the controllers and their work queues, labelled by controller: reconciles by result, reconcile
/// duration, queue depth and the time a key waits in the queue (the status writer's queue is <c>controller="status"</c>),
/// and the status writes by result. One instance per registry, injected where they are
/// recorded.
/// </summary>
/// <param name="factory">Where the metrics are created (a registry's factory; a registry of its own in tests).</param>
public sealed class ControllerMetrics(IMetricFactory factory)
{
    private readonly Counter _reconciles = factory.CreateCounter(
        "sandboxctl_controller_reconcile_total", "Reconciles by controller and result.", ["controller", "result"]);

    private readonly Histogram _reconcileDuration = factory.CreateHistogram(
        "sandboxctl_controller_reconcile_duration_seconds", "Time one reconcile took.",
        new HistogramConfiguration { LabelNames = ["controller"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });

    private readonly Gauge _queueDepth = factory.CreateGauge(
        "sandboxctl_controller_queue_depth", "Keys waiting in the controller's work queue.", ["controller"]);

    private readonly Histogram _queueLatency = factory.CreateHistogram(
        "sandboxctl_controller_queue_latency_seconds", "Time a key waited in the work queue before a worker took it.",
        new HistogramConfiguration { LabelNames = ["controller"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });

    private readonly Counter _statusWrites = factory.CreateCounter(
        "sandboxctl_status_writes_total", "Status writes of RouteGroups, Sandboxes and LocalWorkloads by result: written, skipped (the object already says it), conflict (changed meanwhile; judged again), gone, failed.", ["result"]);

    private readonly Gauge _statusBacklog = factory.CreateGauge(
        "sandboxctl_status_backlog", "Objects a pass over every object (after the first publication, or after becoming leader) has yet to hand to the status queue.");

    /// <summary>The metrics on the process-wide default registry, the one <c>/metrics</c> serves.</summary>
    public ControllerMetrics()
        : this(Metrics.DefaultFactory)
    {
    }

    /// <summary>A reconcile of <paramref name="controller"/> ended with <paramref name="result"/> (<c>success</c> or <c>error</c>).</summary>
    internal void Reconciled(string controller, string result) => _reconciles.WithLabels(controller, result).Inc();

    /// <summary>A reconcile of <paramref name="controller"/> took <paramref name="took"/> (whatever its result, cancelled ones too).</summary>
    internal void ReconcileTook(string controller, TimeSpan took) => _reconcileDuration.WithLabels(controller).Observe(took.TotalSeconds);

    /// <summary><paramref name="depth"/> keys now wait in <paramref name="controller"/>'s queue.</summary>
    internal void QueueDepth(string controller, int depth) => _queueDepth.WithLabels(controller).Set(depth);

    /// <summary>A worker of <paramref name="controller"/> took a key that had waited <paramref name="waited"/>.</summary>
    internal void QueueWaited(string controller, TimeSpan waited) => _queueLatency.WithLabels(controller).Observe(waited.TotalSeconds);

    /// <summary>A status write ended with <paramref name="result"/> (<c>written</c>, <c>skipped</c>, <c>conflict</c>, <c>gone</c> or <c>failed</c>).</summary>
    internal void StatusWrite(string result) => _statusWrites.WithLabels(result).Inc();

    /// <summary><paramref name="count"/> objects of a pass over every object wait to enter the status queue.</summary>
    internal void StatusBacklog(int count) => _statusBacklog.Set(count);
}
