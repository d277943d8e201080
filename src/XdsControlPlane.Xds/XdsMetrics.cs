using Prometheus;

namespace XdsControlPlane.Xds;

/// <summary>
/// Prometheus metrics of the xDS server: connected streams, pushes and bytes pushed, NACKs, and the time from a
/// snapshot's publication to the client's ACK of a response built from it.
/// </summary>
public sealed class XdsMetrics
{
    private readonly Gauge _streams;
    private readonly Counter _pushes;
    private readonly Counter _pushBytes;
    private readonly Counter _nacks;
    private readonly Histogram _ackLatency;
    private readonly Counter _logSuppressed;

    /// <summary>Registers the metrics in <paramref name="registry"/> (the process-wide default when null).</summary>
    public XdsMetrics(CollectorRegistry? registry = null)
    {
        var factory = Metrics.WithCustomRegistry(registry ?? Metrics.DefaultRegistry);
        _streams = factory.CreateGauge("xds_connected_streams", "Open xDS streams.", "protocol", "group");
        _pushes = factory.CreateCounter("xds_pushes_total", "xDS responses sent.", "type");
        _pushBytes = factory.CreateCounter("xds_push_bytes_total", "Serialized bytes of the xDS responses sent.", "type");
        _nacks = factory.CreateCounter("xds_nacks_total", "xDS responses rejected by clients.", "type");
        _logSuppressed = factory.CreateCounter("xds_client_log_lines_suppressed_total", "Log lines about client behaviour (NACKs, bad requests) left out over the budget, by kind.", "kind");
        _ackLatency = factory.CreateHistogram(
            "xds_snapshot_to_ack_seconds",
            "Time from a snapshot's publication to a client's ACK of a response built from it.",
            new HistogramConfiguration { LabelNames = ["type"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
    }

    internal void StreamOpened(string protocol, string group) => _streams.WithLabels(protocol, group).Inc();

    internal void StreamClosed(string protocol, string group) => _streams.WithLabels(protocol, group).Dec();

    internal void Pushed(string typeUrl, int bytes)
    {
        var type = TypeUrls.ShortName(typeUrl);
        _pushes.WithLabels(type).Inc();
        _pushBytes.WithLabels(type).Inc(bytes);
    }

    internal void ClientLogSuppressed(string kind) => _logSuppressed.WithLabels(kind).Inc();

    internal void Nacked(string typeUrl) => _nacks.WithLabels(TypeUrls.ShortName(typeUrl)).Inc();

    internal void Acked(string typeUrl, TimeSpan sincePublication) =>
        _ackLatency.WithLabels(TypeUrls.ShortName(typeUrl)).Observe(Math.Max(0, sincePublication.TotalSeconds));
}
