using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The rules of the tunnel that the broker and the agent share, written once: the protocol versions they speak, how
/// often the agent pings, when either end takes a silent stream for dead, and how long the broker waits for a lost
/// agent to come back.
/// </summary>
public static class TunnelProtocol
{
    /// <summary>The protocol versions this build speaks (broker and agent alike): 2 adds lanes.</summary>
    public static readonly TunnelVersions Versions = new(1, 2);

    /// <summary>The first version with lanes (extra streams of one agent for bulk traffic).</summary>
    public const uint LanesVersion = 2;

    /// <summary>How often the agent pings when the broker does not say (the broker's default too).</summary>
    public static readonly TimeSpan DefaultPingInterval = TimeSpan.FromSeconds(5);

    /// <summary>The broker ends a stream silent this long (no frame at all), by default.</summary>
    public static readonly TimeSpan DefaultSilenceTimeout = TimeSpan.FromSeconds(20);

    /// <summary>How long the broker keeps a workload whose agent's stream was lost without a goodbye, by default.</summary>
    public static readonly TimeSpan DefaultReconnectGrace = TimeSpan.FromSeconds(30);

    /// <summary>The least time the agent waits for pongs before it gives a stream up.</summary>
    private static readonly TimeSpan LeastAgentSilence = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The ping interval the agent uses for <paramref name="welcome"/>: what the broker asked for when it is 1-60 s,
    /// else <see cref="DefaultPingInterval"/>.
    /// </summary>
    public static TimeSpan PingIntervalOf(Welcome welcome)
    {
        ArgumentNullException.ThrowIfNull(welcome);
        return welcome.PingIntervalMs is >= 1000 and <= 60_000 ? TimeSpan.FromMilliseconds(welcome.PingIntervalMs) : DefaultPingInterval;
    }

    /// <summary>The broker's reconnect grace as <paramref name="welcome"/> tells it, else <see cref="DefaultReconnectGrace"/> (an older broker).</summary>
    public static TimeSpan ReconnectGraceOf(Welcome? welcome) =>
        welcome is { ReconnectGraceMs: > 0 } ? TimeSpan.FromMilliseconds(welcome.ReconnectGraceMs) : DefaultReconnectGrace;

    /// <summary>How long the agent waits for pongs, pinging every <paramref name="pingInterval"/>: three intervals, at least 15 s.</summary>
    public static TimeSpan AgentSilence(TimeSpan pingInterval) => TimeSpan.FromTicks(Math.Max(pingInterval.Ticks * 3, LeastAgentSilence.Ticks));
}

/// <summary>An inclusive range of tunnel protocol versions, as Hello and Describe carry them.</summary>
/// <param name="Min">The lowest version.</param>
/// <param name="Max">The highest version.</param>
public readonly record struct TunnelVersions(uint Min, uint Max)
{
    /// <summary>The highest version both this range and <paramref name="other"/> hold; null when they do not overlap (or either is empty).</summary>
    public uint? HighestShared(TunnelVersions other)
    {
        var highest = Math.Min(Max, other.Max);
        return Min > Max || other.Min > other.Max || highest < Math.Max(Min, other.Min) ? null : highest;
    }

    /// <summary><c>1</c> for a single version, else <c>1-2</c>.</summary>
    public override string ToString() => Min == Max ? $"{Min}" : $"{Min}-{Max}";
}
