using Prometheus;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// Prometheus metrics of the tunnel broker: agents attached, agent streams (and raw lanes' connections) and tunnelled connections open, payload
/// bytes each way, bytes held for app sockets that are behind, connections ended at the stream's buffer budget, frames
/// dropped and refusals by <see cref="AgentRefusal"/>. No label names a workload or carries
/// client text, so the series stay bounded whatever agents send. Byte, connection and frame counts are read from each
/// attached stream's multiplexer when the registry is scraped (its own counters), so the frame path pays nothing more.
/// </summary>
public sealed class BrokerMetrics
{
    private readonly Gauge _agents;
    private readonly Gauge _streams;
    private readonly Gauge _rawLanes;
    private readonly Gauge _connections;
    private readonly Counter.Child _bytesToLaptop;
    private readonly Counter.Child _bytesFromLaptop;
    private readonly Counter _framesDropped;
    private readonly Gauge _buffered;
    private readonly Counter _overBudget;
    private readonly Counter _refusals;
    private readonly Counter.Child[] _refusalsByReason;
    private readonly Lock _gate = new();
    private readonly Dictionary<TunnelMultiplexer, Reported> _attached = new(ReferenceEqualityComparer.Instance);

    /// <summary>Registers the metrics in <paramref name="registry"/> (the process-wide default, which <c>/metrics</c> serves, when null).</summary>
    public BrokerMetrics(CollectorRegistry? registry = null)
    {
        registry ??= Metrics.DefaultRegistry;
        var factory = Metrics.WithCustomRegistry(registry);
        _agents = factory.CreateGauge("tunnel_broker_agents_attached", "Agents whose stream is attached to their workload's listeners on this replica.");
        _streams = factory.CreateGauge("tunnel_broker_agent_streams", "Agent streams open on the tunnel broker, admitted or still before their Hello.");
        _rawLanes = factory.CreateGauge("tunnel_broker_raw_lane_connections", "Raw lanes' connections open on the tunnel port (plain TCP after the raw lane's preface, admitted or still before their Hello); each is also an agent stream.");
        _connections = factory.CreateGauge("tunnel_broker_connections_open", "TCP connections carried through the attached agents' tunnels.");
        var bytes = factory.CreateCounter("tunnel_broker_bytes_total", "Payload bytes through the tunnels, by direction (to_laptop, from_laptop).", "direction");
        _bytesToLaptop = bytes.WithLabels("to_laptop");
        _bytesFromLaptop = bytes.WithLabels("from_laptop");
        _framesDropped = factory.CreateCounter("tunnel_broker_frames_dropped_total", "Frames from agents the broker dropped: for a connection never opened, an Open it refused.");
        _buffered = factory.CreateGauge("tunnel_broker_buffered_bytes", "Bytes agents sent that the broker holds because the data planes' sockets have not taken them yet (at most Tunnel:Limits:StreamBufferBudget per agent stream).");
        _overBudget = factory.CreateCounter("tunnel_broker_connections_over_budget_total", "Tunnelled connections the broker ended because their data plane did not read while their agent stream's buffer budget was spent.");
        _refusals = factory.CreateCounter("tunnel_broker_refusals_total", "Agent streams the broker refused, by reason.", "reason");
        _refusalsByReason = [.. AgentRefusals.All.Select(reason => _refusals.WithLabels(reason))];
        registry.AddBeforeCollectCallback(Collect);
    }

    /// <summary>Agents attached to this broker now (as the gauge counts them).</summary>
    public int AgentsAttached
    {
        get
        {
            lock (_gate)
            {
                return _attached.Count;
            }
        }
    }

    /// <summary>An agent stream arrived (before its Hello); dispose the result when it ends.</summary>
    internal IDisposable StreamOpened()
    {
        _streams.Inc();
        return new Ending(() => _streams.Dec());
    }

    /// <summary>Raw lanes' connections open now (as the gauge counts them).</summary>
    public int RawLaneConnections => (int)_rawLanes.Value;

    /// <summary>A raw lane's connection arrived (after its preface); dispose the result when it ends.</summary>
    internal IDisposable RawLaneOpened()
    {
        _rawLanes.Inc();
        return new Ending(() => _rawLanes.Dec());
    }

    /// <summary>The broker refused an agent's stream for <paramref name="reason"/>.</summary>
    internal void Refused(AgentRefusal reason) => _refusalsByReason[(int)reason].Inc();

    /// <summary>
    /// The stream of <paramref name="multiplexer"/> is attached to its workload: counted until the result is disposed,
    /// its bytes, connections and dropped frames reported at each scrape and once more at the end.
    /// </summary>
    internal IDisposable Attached(TunnelMultiplexer multiplexer)
    {
        lock (_gate)
        {
            _attached[multiplexer] = new Reported();
        }

        _agents.Inc();
        return new Ending(() => Detached(multiplexer));
    }

    /// <summary>Brings the counters up to date with the attached streams (before each scrape).</summary>
    internal void Collect()
    {
        lock (_gate)
        {
            long buffered = 0;
            foreach (var (multiplexer, reported) in _attached)
            {
                Report(multiplexer, reported);
                buffered += multiplexer.BufferedBytes;
            }

            _buffered.Set(buffered);
        }
    }

    private void Detached(TunnelMultiplexer multiplexer)
    {
        lock (_gate)
        {
            if (!_attached.Remove(multiplexer, out var reported))
            {
                return;
            }

            Report(multiplexer, reported);
            _connections.Dec(reported.Open);
        }

        _agents.Dec();
    }

    private void Report(TunnelMultiplexer multiplexer, Reported reported)
    {
        var sent = multiplexer.BytesSent;
        var received = multiplexer.BytesReceived;
        var dropped = multiplexer.RefusedFrames;
        var open = multiplexer.OpenConnections;
        var overBudget = multiplexer.ConnectionsOverBudget;
        _overBudget.Inc(overBudget - reported.OverBudget);
        _bytesToLaptop.Inc(sent - reported.Sent);
        _bytesFromLaptop.Inc(received - reported.Received);
        _framesDropped.Inc(dropped - reported.Dropped);
        if (open >= reported.Open)
        {
            _connections.Inc(open - reported.Open);
        }
        else
        {
            _connections.Dec(reported.Open - open);
        }

        (reported.Sent, reported.Received, reported.Dropped, reported.Open, reported.OverBudget) = (sent, received, dropped, open, overBudget);
    }

    /// <summary>What was reported of one attached stream so far.</summary>
    private sealed class Reported
    {
        public long Sent { get; set; }

        public long Received { get; set; }

        public long Dropped { get; set; }

        public int Open { get; set; }

        public long OverBudget { get; set; }
    }

    private sealed class Ending(Action end) : IDisposable
    {
        private int _ended;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _ended, 1) == 0)
            {
                end();
            }
        }
    }
}
