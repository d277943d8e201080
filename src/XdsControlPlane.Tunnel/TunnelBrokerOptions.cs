using System.Net;

namespace XdsControlPlane.Tunnel;

/// <summary>The tunnel broker's settings (validated when the host starts).</summary>
public sealed class TunnelBrokerOptions
{
    /// <summary>This replica's name (the pod name in a cluster).</summary>
    public string Replica { get; set; } = Environment.MachineName;

    /// <summary>The address the per-workload listeners bind to.</summary>
    public IPAddress BindAddress { get; set; } = IPAddress.Any;

    /// <summary>The address data planes dial to reach this replica's listeners (the pod IP in a cluster).</summary>
    public string AdvertiseAddress { get; set; } = "127.0.0.1";

    /// <summary>The first port of the range the per-workload listeners use.</summary>
    public int FirstListenPort { get; set; } = 18100;

    /// <summary>How many ports the range has; 0 lets the system pick free ports (tests).</summary>
    public int ListenPortCount { get; set; } = 100;

    /// <summary>How often the agent pings (and so heartbeats arrive).</summary>
    public TimeSpan PingInterval { get; set; } = TunnelProtocol.DefaultPingInterval;

    /// <summary>How often a heartbeat is written to the workload's status while pings arrive.</summary>
    public TimeSpan HeartbeatWriteInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A stream silent this long (no frame at all) is taken for dead and ended.</summary>
    public TimeSpan SilenceTimeout { get; set; } = TunnelProtocol.DefaultSilenceTimeout;

    /// <summary>How long a workload's listeners stay after its agent's stream ended without a goodbye, waiting for a reconnect.</summary>
    public TimeSpan ReconnectGrace { get; set; } = TunnelProtocol.DefaultReconnectGrace;

    /// <summary>How long the stream keeps carrying after the agent's goodbye, while the data planes move to the baseline.</summary>
    public TimeSpan GoodbyeDrain { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a data-plane connection to a workload port waits for the agent while it is reconnecting.</summary>
    public TimeSpan AcceptWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the agent has to send its Hello.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many agents this replica serves at once.</summary>
    public int MaxAgents { get; set; } = 256;

    /// <summary>
    /// How many agent streams one HTTP/2 connection may carry at once (an agent needs one; a reconnect may briefly
    /// overlap the stream it replaces). More are refused with RESOURCE_EXHAUSTED before their Hello is read.
    /// </summary>
    public int MaxAgentsPerConnection { get; set; } = 4;

    /// <summary>
    /// How many agent streams one remote address may have open at once; 0 for no limit. Agents that reach the broker
    /// through the API server's port-forward all come from the pod's loopback address: raise it for more of them.
    /// </summary>
    public int MaxAgentsPerAddress { get; set; } = 32;

    /// <summary>The per-stream bounds.</summary>
    public TunnelLimits Limits { get; set; } = new();

    /// <summary>
    /// Whether agents may open lanes as raw lanes (<see cref="RawLane"/>: plain TCP connections to the tunnel port, no
    /// HTTP/2 or gRPC framing), told in Welcome. On by default; the server turns it off while the tunnel port serves TLS
    /// (a raw lane is plaintext), and it is not offered when <see cref="TunnelLimits.MaxData"/> exceeds <see cref="RawLane.MaxData"/>.
    /// </summary>
    public bool RawLanes { get; set; } = true;

    /// <summary>Whether Welcome offers raw lanes: <see cref="RawLanes"/>, and a Data frame fits a raw lane's record.</summary>
    public bool OffersRawLanes => RawLanes && Limits.MaxData <= RawLane.MaxData;

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Replica))
        {
            yield return "Replica must name this replica.";
        }

        if (string.IsNullOrWhiteSpace(AdvertiseAddress))
        {
            yield return "AdvertiseAddress must be the address data planes reach this replica at.";
        }

        if (ListenPortCount is < 0 or > 10000 || (ListenPortCount > 0 && (FirstListenPort < 1 || FirstListenPort + ListenPortCount - 1 > 65535)))
        {
            yield return $"The listen port range {FirstListenPort}+{ListenPortCount} must lie within 1-65535 (at most 10000 ports; 0 ports picks free ones).";
        }

        foreach (var (name, value) in new[] { (nameof(PingInterval), PingInterval), (nameof(HeartbeatWriteInterval), HeartbeatWriteInterval), (nameof(SilenceTimeout), SilenceTimeout), (nameof(ReconnectGrace), ReconnectGrace), (nameof(AcceptWait), AcceptWait), (nameof(HelloTimeout), HelloTimeout), (nameof(GoodbyeDrain), GoodbyeDrain) })
        {
            if (value <= TimeSpan.Zero)
            {
                yield return $"{name} must be positive, got {value}.";
            }
        }

        if (SilenceTimeout <= PingInterval)
        {
            yield return $"SilenceTimeout ({SilenceTimeout}) must be longer than PingInterval ({PingInterval}).";
        }

        if (MaxAgents < 1)
        {
            yield return $"MaxAgents must be at least 1, got {MaxAgents}.";
        }

        if (MaxAgentsPerConnection is < 1 or > 1000)
        {
            yield return $"MaxAgentsPerConnection must be between 1 and 1000, got {MaxAgentsPerConnection}.";
        }

        if (MaxAgentsPerAddress is < 0 or > 100_000)
        {
            yield return $"MaxAgentsPerAddress must be between 0 (no limit) and 100000, got {MaxAgentsPerAddress}.";
        }

        foreach (var problem in Limits.Validate())
        {
            yield return problem;
        }
    }
}
