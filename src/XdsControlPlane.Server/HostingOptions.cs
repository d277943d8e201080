namespace XdsControlPlane.Server;

/// <summary>How the server process listens and logs, and which replica it is (configuration section <c>Server</c>).</summary>
public sealed class HostingOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string Section = "Server";

    /// <summary>Bind every listener to loopback only instead of every interface.</summary>
    public bool Loopback { get; set; }

    /// <summary>Console log format.</summary>
    public LogFormat LogFormat { get; set; } = LogFormat.Plain;

    /// <summary>How long an HTTP/2 connection (an xDS client's) may send nothing before the server pings it (Kestrel's <c>KeepAlivePingDelay</c>; at least 1 s).</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the server waits for any frame after its ping before it closes the connection, so a dead client's streams end and leave the registry (Kestrel's <c>KeepAlivePingTimeout</c>).</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>This replica's name in Leases and tunnel endpoints (in a pod, <c>POD_NAME</c>); default the host name and process id.</summary>
    public string Replica { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (KeepAlivePingDelay < TimeSpan.FromSeconds(1))
        {
            yield return $"KeepAlivePingDelay must be at least 1s, got {KeepAlivePingDelay}.";
        }

        if (KeepAlivePingTimeout <= TimeSpan.Zero)
        {
            yield return $"KeepAlivePingTimeout must be positive, got {KeepAlivePingTimeout}.";
        }

        if (string.IsNullOrWhiteSpace(Replica))
        {
            yield return "Replica must not be empty.";
        }
    }
}

/// <summary>Console log formats.</summary>
public enum LogFormat
{
    /// <summary>Human-readable lines.</summary>
    Plain,

    /// <summary>One compact JSON object per line (Serilog CLEF).</summary>
    Json,
}
