using Prometheus;

namespace XdsControlPlane.Server.Previews;

/// <summary>
/// Prometheus counters of the preview authorization service: decisions by <c>decision</c> (allow, redirect, deny) and
/// <c>reason</c> (<see cref="PreviewReasons"/>, a fixed set), and the access level they were for.
/// </summary>
/// <param name="factory">Where the metrics are created (a registry of its own in tests).</param>
internal sealed class PreviewAccessMetrics(IMetricFactory factory)
{
    private readonly Counter _decisions = factory.CreateCounter(
        "sandboxctl_preview_decisions_total", "Preview authorization decisions by decision (allow, redirect, deny), reason and access level.", ["decision", "reason", "access"]);

    /// <summary>The metrics on the process-wide default registry, the one <c>/metrics</c> serves.</summary>
    public PreviewAccessMetrics()
        : this(Metrics.DefaultFactory)
    {
    }

    /// <summary>One decision.</summary>
    public void Decided(string decision, string reason, string access) => _decisions.WithLabels(decision, reason, access).Inc();
}
