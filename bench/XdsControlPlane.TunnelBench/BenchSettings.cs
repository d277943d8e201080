using XdsControlPlane.Tunnel;

namespace XdsControlPlane.TunnelBench;

/// <summary>How much the benchmark moves and how many times.</summary>
/// <param name="ServerDll">The server host's build.</param>
/// <param name="SingleBytes">Bytes over the one connection, each way.</param>
/// <param name="ParallelConnections">Connections of the parallel measurement.</param>
/// <param name="ParallelBytes">Bytes over all parallel connections together, each way.</param>
/// <param name="WarmUpRounds">Round trips before the latency is counted.</param>
/// <param name="Rounds">Round trips counted.</param>
/// <param name="IdleConnections">Idle connections held open for the memory measurement.</param>
/// <param name="Quick">Whether these are the short settings for iterating.</param>
internal sealed record BenchSettings(string ServerDll, long SingleBytes, int ParallelConnections, long ParallelBytes, int WarmUpRounds, int Rounds, int IdleConnections, bool Quick)
{
    /// <summary>The agent's limits: the multiplexer's defaults unless <c>--agent-window</c> or <c>--agent-max-data</c> change them (to see whether they bound throughput).</summary>
    public TunnelLimits AgentLimits { get; init; } = new();

    private const long MiB = 1024 * 1024;

    /// <summary>The full run (1 GiB each way, 5,000 round trips, 1,000 idle connections) or the quick one.</summary>
    public static BenchSettings For(string serverDll, bool quick) => quick
        ? new(serverDll, 128 * MiB, 100, 128 * MiB, 200, 1000, 200, true)
        : new(serverDll, 1024 * MiB, 100, 1024 * MiB, 1000, 5000, 1000, false);
}
