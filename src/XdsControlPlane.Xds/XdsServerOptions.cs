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
    }
}
