using System.Globalization;

namespace XdsControlPlane.Xds;

/// <summary>Settings of the xDS server.</summary>
public sealed class XdsServerOptions
{
    /// <summary>The longest finite <see cref="MaxStreamAge"/> accepted.</summary>
    public static readonly TimeSpan MaxFiniteStreamAge = TimeSpan.FromDays(30);

    /// <summary>Default <see cref="MaxStreamAge"/>: 30 minutes, as Istio's default maximum connection age.</summary>
    public static readonly TimeSpan DefaultMaxStreamAge = TimeSpan.FromMinutes(30);

    /// <summary>
    /// A stream is ended (status OK) after this long, plus or minus up to 10% jitter, so clients reconnect and spread
    /// over the replicas that exist now. <see cref="Timeout.InfiniteTimeSpan"/> disables it.
    /// </summary>
    public TimeSpan MaxStreamAge { get; set; } = DefaultMaxStreamAge;

    /// <summary>Default <see cref="MaxRequestBytes"/>: 4 MiB, gRPC's default and istiod's.</summary>
    public const int DefaultMaxRequestBytes = 4 * 1024 * 1024;

    /// <summary>The smallest <see cref="MaxRequestBytes"/> accepted (64 KiB: an Envoy's first request, node and extensions included, fits many times).</summary>
    public const int MinMaxRequestBytes = 64 * 1024;

    /// <summary>The largest <see cref="MaxRequestBytes"/> accepted (1 GiB).</summary>
    public const int MaxMaxRequestBytes = 1024 * 1024 * 1024;

    /// <summary>
    /// The largest request message (serialized bytes) the xDS services accept. A larger one ends only its own stream,
    /// with <c>RESOURCE_EXHAUSTED</c>; every other stream goes on. Delta clients that reconnect holding many
    /// resources send every name and version in their first request: raise it for very large meshes.
    /// </summary>
    public int MaxRequestBytes { get; set; } = DefaultMaxRequestBytes;

    /// <summary>Default <see cref="ClientLogLines"/>.</summary>
    public const int DefaultClientLogLines = 20;

    /// <summary>
    /// Log lines about client behaviour (NACKs, invalid, malformed or oversized requests) written per kind and
    /// <see cref="ClientLogInterval"/>; the rest are counted and summarised in one line when the interval ends. 0 writes
    /// none of them (the counters and the summary remain).
    /// </summary>
    public int ClientLogLines { get; set; } = DefaultClientLogLines;

    /// <summary>The interval of <see cref="ClientLogLines"/>: one minute by default.</summary>
    public TimeSpan ClientLogInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (MaxStreamAge <= TimeSpan.Zero && MaxStreamAge != Timeout.InfiniteTimeSpan)
        {
            yield return $"MaxStreamAge must be positive (or infinite), got {MaxStreamAge}.";
        }
        else if (MaxStreamAge > MaxFiniteStreamAge)
        {
            // Timers stop at about 49.7 days; the age gets up to 10% jitter on top.
            yield return $"MaxStreamAge must be at most {MaxFiniteStreamAge.TotalDays} days (or infinite), got {MaxStreamAge}.";
        }

        if (ClientLogLines is < 0 or > 100_000)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"ClientLogLines must be between 0 and 100000, got {ClientLogLines}.");
        }

        if (ClientLogInterval < TimeSpan.FromSeconds(1) || ClientLogInterval > TimeSpan.FromDays(1))
        {
            yield return $"ClientLogInterval must be between 1 second and 1 day, got {ClientLogInterval}.";
        }

        if (MaxRequestBytes is < MinMaxRequestBytes or > MaxMaxRequestBytes)
        {
            yield return string.Create(CultureInfo.InvariantCulture, $"MaxRequestBytes must be between {MinMaxRequestBytes} (64 KiB) and {MaxMaxRequestBytes} (1 GiB), got {MaxRequestBytes}.");
        }
    }
}
