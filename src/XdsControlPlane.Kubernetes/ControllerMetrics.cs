using Prometheus;

namespace XdsControlPlane.Kubernetes;

/// <summary>Prometheus metrics of the controllers and their work queues, labelled by controller.</summary>
internal static class ControllerMetrics
{
    /// <summary>Reconciles by outcome (<c>success</c>, <c>error</c>, <c>requeue</c>).</summary>
    public static readonly Counter Reconciles = Metrics.CreateCounter(
        "sandboxctl_controller_reconcile_total", "Reconciles by controller and result.", "controller", "result");

    /// <summary>Reconcile duration.</summary>
    public static readonly Histogram ReconcileDuration = Metrics.CreateHistogram(
        "sandboxctl_controller_reconcile_duration_seconds", "Time one reconcile took.",
        new HistogramConfiguration { LabelNames = ["controller"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });

    /// <summary>Keys waiting in the work queue.</summary>
    public static readonly Gauge QueueDepth = Metrics.CreateGauge(
        "sandboxctl_controller_queue_depth", "Keys waiting in the controller's work queue.", "controller");

    /// <summary>Time from a key being queued to a worker taking it.</summary>
    public static readonly Histogram QueueLatency = Metrics.CreateHistogram(
        "sandboxctl_controller_queue_latency_seconds", "Time a key waited in the work queue before a worker took it.",
        new HistogramConfiguration { LabelNames = ["controller"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
}
