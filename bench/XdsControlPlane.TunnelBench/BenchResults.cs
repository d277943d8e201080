namespace XdsControlPlane.TunnelBench;

/// <summary>What one run of the benchmark measured, the direct baseline and the tunnel side by side.</summary>
internal sealed record BenchResults(
    IReadOnlyList<ThroughputResult> Throughput,
    LatencyPercentiles DirectLatency,
    LatencyPercentiles TunnelLatency,
    IdleMemoryResult Idle,
    long BrokerPeakResidentBytes,
    IReadOnlyList<string> BrokerProblems);

/// <summary>
/// Aggregate MB/s of <see cref="Connections"/> connections each moving <see cref="BytesEach"/> bytes, and the cores
/// the broker and the bench process (client, agent, laptop's service) kept busy during the tunnelled transfer.
/// </summary>
internal sealed record ThroughputResult(int Connections, Direction Direction, long BytesEach, double Direct, double Tunnel, double BrokerCores, double BenchCores);

/// <summary>
/// Bytes per idle connection. Direct: the bench process holds both ends (client and plain loopback server). Tunnel:
/// the broker process's resident memory, and the bench process's heap, which holds the client, the agent and the
/// laptop's service ends.
/// </summary>
internal sealed record IdleMemoryResult(int Connections, double DirectResidentPerConnection, double DirectHeapPerConnection, double BrokerResidentPerConnection, double TunnelHeapPerConnection);
