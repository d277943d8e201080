using System.Collections.Concurrent;
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

    /// <summary>
    /// The counter of each label set met so far: every label is one of a fixed set (the outcomes, <see cref="PreviewReasons"/>,
    /// the access levels and <c>unknown</c>), so this stays small, and a decision costs a lookup instead of the labels' resolution.
    /// </summary>
    private readonly ConcurrentDictionary<(string Decision, string Reason, string Access), Counter.Child> _children = new();

    /// <summary>The metrics on the process-wide default registry, the one <c>/metrics</c> serves.</summary>
    public PreviewAccessMetrics()
        : this(Metrics.DefaultFactory)
    {
    }

    /// <summary>One decision.</summary>
    public void Decided(string decision, string reason, string access) =>
        _children.GetOrAdd((decision, reason, access), static (labels, counter) => counter.WithLabels(labels.Decision, labels.Reason, labels.Access), _decisions).Inc();
}
