namespace XdsControlPlane.FaultBench;

/// <summary>What a fault run is given: the server build, the scale, the time limits and where progress and server logs go.</summary>
internal sealed record BenchSettings(string ServerDll, int Clients, int Services, TimeSpan Duration, TimeSpan Timeout, TextWriter Progress)
{
    /// <summary>The interval of samples (soak, NACK storm).</summary>
    public TimeSpan SampleEvery { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The server's <c>Xds:MaxStreamAge</c> in a soak, when not its default (30 min): an age shorter than the run makes stream recycling part of its steady state.</summary>
    public TimeSpan? MaxStreamAge { get; init; }

    /// <summary>Where the SVG of a soak goes.</summary>
    public string? SvgPath { get; init; }

    /// <summary>The log file of the server run <paramref name="name"/>.</summary>
    public string Log(string name) => Path.Combine(Path.GetTempPath(), $"fault-bench-server-{name}.log");
}
