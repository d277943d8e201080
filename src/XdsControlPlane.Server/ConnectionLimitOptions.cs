using System.Globalization;

namespace XdsControlPlane.Server;

/// <summary>
/// Limits that keep a connection flood from taking the process down (configuration section <c>Connections</c>): a
/// peer's connections per listener, the time a connection may take to send its first request, and the file descriptors
/// kept back for the runtime, manifest reloads and the API server client.
/// </summary>
public sealed class ConnectionLimitOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string Section = "Connections";

    /// <summary>
    /// Connections one peer address may hold open on one listener; more are closed as they arrive. Pods connect from
    /// their own addresses, so the default (1,000) is far above a legitimate peer's need and far below a flood.
    /// </summary>
    public int MaxPerPeer { get; set; } = 1000;

    /// <summary>
    /// How long a connection may stay open without sending a first request (the TLS handshake included where there is
    /// one); then it is closed. Every client sends its first request at once, but a herd of thousands reconnecting
    /// together waits for an overloaded server to read it: 30 s by default, long enough for 10,000 streams on two idle
    /// cores (all in sync after 23 s), short enough that slots held by a flood free up within half a minute
    /// (docs/server.md, "Connection floods").
    /// </summary>
    public TimeSpan FirstRequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// File descriptors never given to connections: the process's soft limit (<c>ulimit -n</c>) minus these is the
    /// connection budget of every listener together (1,024 by default, or half the limit when it is small).
    /// </summary>
    public int FileDescriptorHeadroom { get; set; } = 1024;

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (MaxPerPeer is < 1 or > 1_000_000)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"Connections:MaxPerPeer must be between 1 and 1000000, got {MaxPerPeer}.");
        }

        if (FirstRequestTimeout < TimeSpan.FromSeconds(1) || FirstRequestTimeout > TimeSpan.FromMinutes(10))
        {
            yield return $"Connections:FirstRequestTimeout must be between 1 second and 10 minutes, got {FirstRequestTimeout}.";
        }

        if (FileDescriptorHeadroom is < 64 or > 1_000_000)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"Connections:FileDescriptorHeadroom must be between 64 and 1000000, got {FileDescriptorHeadroom}.");
        }
    }

    /// <summary>
    /// The connections every listener together may hold: the soft file-descriptor limit minus
    /// <see cref="FileDescriptorHeadroom"/> (or half the limit when the headroom would take more than half); no
    /// budget when the limit cannot be read or is unlimited.
    /// </summary>
    public int ConnectionBudget(long? softFileLimit) =>
        softFileLimit is not { } limit || limit <= 0 || limit >= int.MaxValue ? int.MaxValue
        : limit > 2L * FileDescriptorHeadroom ? (int)(limit - FileDescriptorHeadroom)
        : (int)Math.Max(1, limit / 2);
}
