using XdsControlPlane.Tunnel;

namespace XdsControlPlane.TunnelBench;

/// <summary>How much the benchmark moves and how many times.</summary>
/// <param name="ServerDll">The server host's build.</param>
/// <param name="Seconds">Seconds of each iperf3 measurement.</param>
/// <param name="Repeat">How many times each throughput case is measured over the three paths (the report takes the median).</param>
/// <param name="ParallelStreams">Parallel streams of the parallel case (iperf3 <c>-P</c>).</param>
/// <param name="WarmUpRounds">Round trips before the latency is counted.</param>
/// <param name="Rounds">Round trips counted.</param>
/// <param name="IdleConnections">Idle connections held open for the memory measurement.</param>
/// <param name="Quick">Whether these are the short settings for iterating.</param>
internal sealed record BenchSettings(string ServerDll, int Seconds, int Repeat, int ParallelStreams, int WarmUpRounds, int Rounds, int IdleConnections, bool Quick)
{
    /// <summary>The agent's limits: the multiplexer's defaults unless <c>--agent-window</c> or <c>--agent-max-data</c> change them (to see whether they bound throughput).</summary>
    public TunnelLimits AgentLimits { get; init; } = new();

    /// <summary>How many lanes the agent opens when the broker offers them: the real agent's default (<see cref="TunnelLimits.MaxLanes"/>) unless <c>--agent-lanes</c> says (0: one stream, as before protocol version 2).</summary>
    public int AgentLanes => AgentLimits.MaxLanes;

    /// <summary>Whether the agent's stream writers hold a burst's sends together with <c>TCP_CORK</c> (<see cref="BurstCork"/>, as sandboxctl does): on unless <c>--agent-cork off</c>.</summary>
    public bool AgentCork { get; init; } = true;

    /// <summary>Whether the agent opens its lanes as raw lanes when the broker offers them (<see cref="RawLane"/>), as sandboxctl does without TLS: on unless <c>--agent-raw-lanes off</c>.</summary>
    public bool AgentRawLanes { get; init; } = true;

    /// <summary>Whether each throughput case also runs over <see cref="RawLaneProbe"/> (<c>--raw-lane-probe</c>): the ceiling of frames over plain TCP lanes instead of gRPC.</summary>
    public bool RawLaneProbe { get; init; }

    /// <summary>The full run (5 s per iperf3 measurement, 3 repetitions, 5,000 round trips, 1,000 idle connections) or the quick one.</summary>
    public static BenchSettings For(string serverDll, bool quick) => quick
        ? new(serverDll, 2, 1, 8, 200, 1000, 200, true)
        : new(serverDll, 5, 3, 8, 1000, 5000, 1000, false);
}
