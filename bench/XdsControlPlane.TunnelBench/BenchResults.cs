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
/// Aggregate MB/s of <see cref="Connections"/> connections each moving <see cref="BytesEach"/> bytes; the cores the
/// bench process (both ends) kept busy during the direct transfer, and the broker and the bench process (client, agent,
/// laptop's service) during the tunnelled one.
/// </summary>
internal sealed record ThroughputResult(int Connections, Direction Direction, long BytesEach, double Direct, double Tunnel, double DirectCores, double BrokerCores, double BenchCores)
{
    /// <summary>CPU milliseconds per MB moved directly.</summary>
    public double DirectCpuPerMegabyte => DirectCores / Direct * 1000;

    /// <summary>CPU milliseconds per MB moved through the tunnel (broker and bench process together).</summary>
    public double TunnelCpuPerMegabyte => (BrokerCores + BenchCores) / Tunnel * 1000;
}

/// <summary>
/// Bytes per idle connection. Direct: the bench process holds both ends (client and plain loopback server). Tunnel:
/// the broker process's resident memory, and the bench process's heap, which holds the client, the agent and the
/// laptop's service ends.
/// </summary>
internal sealed record IdleMemoryResult(int Connections, double DirectResidentPerConnection, double DirectHeapPerConnection, double BrokerResidentPerConnection, double TunnelHeapPerConnection);
