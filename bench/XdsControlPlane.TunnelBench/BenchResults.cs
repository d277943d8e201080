namespace XdsControlPlane.TunnelBench;

/// <summary>What one run of the benchmark measured, the direct baseline and the tunnel side by side.</summary>
internal sealed record BenchResults(
    IReadOnlyList<ThroughputResult> Throughput,
    LatencyPercentiles DirectLatency,
    LatencyPercentiles TunnelLatency,
    IdleMemoryResult Idle,
    long BrokerPeakResidentBytes,
    IReadOnlyList<string> BrokerProblems,
    string? SshMissing,
    IReadOnlyList<double> LoadAverages);

/// <summary>
/// iperf3 throughput of one case (<see cref="Streams"/> parallel streams in <see cref="Direction"/>) over the three paths,
/// in bits per second, one value per repetition (each repetition measures the three paths back to back); the tunnel's
/// CPU cost in ms per MB (broker and agent processes together, and each: the broker process; this one, which runs the agent) and the threads' waits (voluntary context switches)
/// per MB of each (the broker process; this one, which runs the agent), medians over the repetitions.
/// </summary>
internal sealed record ThroughputResult(int Streams, Direction Direction, IReadOnlyList<double> Direct, IReadOnlyList<double> Tunnel, IReadOnlyList<double> Ssh, double TunnelCpuPerMegabyte, double BrokerCpuPerMegabyte, double AgentCpuPerMegabyte, double BrokerSwitchesPerMegabyte, double AgentSwitchesPerMegabyte)
{
    /// <summary>The raw-lane probe's rates (<see cref="RawLaneProbe"/>, with <c>--raw-lane-probe</c>), else empty.</summary>
    public IReadOnlyList<double> RawProbe { get; init; } = [];

    /// <summary>The raw-lane probe's CPU per MB (both its relays run in this process), NaN without it.</summary>
    public double RawProbeCpuPerMegabyte { get; init; } = double.NaN;

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>
/// Bytes per idle connection. Direct: the bench process holds both ends (client and plain loopback server). Tunnel:
/// the broker process's resident memory, and the bench process's heap, which holds the client, the agent and the
/// laptop's service ends.
/// </summary>
internal sealed record IdleMemoryResult(int Connections, double DirectResidentPerConnection, double DirectHeapPerConnection, double BrokerResidentPerConnection, double TunnelHeapPerConnection);
