namespace XdsControlPlane.ControlLoopBench;

/// <summary>One edit as measured: event→push and event→ACK at the gateway (null when none was expected or it timed out), and what both clients got meanwhile.</summary>
internal sealed record EditSample(
    double? PushMs,
    double? AckMs,
    bool TimedOut,
    IReadOnlyDictionary<string, int> GatewayPushes,
    long GatewayBytes,
    IReadOnlyDictionary<string, int> SidecarPushes,
    long SidecarBytes);

/// <summary>Every edit of one kind in one run, with the server's CPU time over the block.</summary>
internal sealed record KindResult(string Kind, string? Expect, IReadOnlyList<EditSample> Samples, int Skipped, double BlockSeconds, double CpuMs)
{
    public int Changes => Samples.Count;

    public int Timeouts => Samples.Count(s => s.TimedOut);

    public double? PushP50 => Percentile(Samples.Select(s => s.PushMs), 0.50);

    public double? PushP99 => Percentile(Samples.Select(s => s.PushMs), 0.99);

    public double? PushMax => Samples.Select(s => s.PushMs).Max();

    public double? AckP50 => Percentile(Samples.Select(s => s.AckMs), 0.50);

    public double? AckP99 => Percentile(Samples.Select(s => s.AckMs), 0.99);

    public double CpuMsPerChange => Changes == 0 ? 0 : CpuMs / Changes;

    public double GatewayBytesPerChange => Changes == 0 ? 0 : Samples.Average(s => s.GatewayBytes);

    public double SidecarBytesPerChange => Changes == 0 ? 0 : Samples.Average(s => s.SidecarBytes);

    /// <summary>Responses per change by type at both clients, e.g. <c>EDS 1.0 / EDS 1.0</c>; "none" when nothing came.</summary>
    public string PushedTypes => $"{Types(s => s.GatewayPushes)} / {Types(s => s.SidecarPushes)}";

    private string Types(Func<EditSample, IReadOnlyDictionary<string, int>> pushes)
    {
        var totals = Samples.SelectMany(s => pushes(s)).GroupBy(p => p.Key).Select(g => (Type: g.Key, PerChange: g.Sum(p => p.Value) / (double)Math.Max(1, Changes))).ToList();
        return totals.Count == 0 ? "none" : string.Join(" ", totals.OrderBy(t => t.Type, StringComparer.Ordinal).Select(t => $"{t.Type}×{t.PerChange:0.#}"));
    }

    /// <summary>Nearest-rank percentile of the values present; timeouts count as missing (reported separately).</summary>
    private static double? Percentile(IEnumerable<double?> values, double quantile)
    {
        var present = values.Where(v => v is not null).Select(v => v!.Value).Order().ToList();
        return present.Count == 0 ? null : present[Math.Clamp((int)Math.Ceiling(quantile * present.Count) - 1, 0, present.Count - 1)];
    }
}

/// <summary>RSS samples taken every 10 s while mixed edits kept coming.</summary>
internal sealed record ChurnResult(double Minutes, int Edits, IReadOnlyList<long> RssSamples)
{
    public long First => RssSamples.Count == 0 ? 0 : RssSamples[0];

    public long Last => RssSamples.Count == 0 ? 0 : RssSamples[^1];

    public long Max => RssSamples.Count == 0 ? 0 : RssSamples.Max();
}

/// <summary>One server start on one inventory: startup, the idle floor, every edit kind, memory, and what the server logged as problems.</summary>
internal sealed record RunResult(
    string Source,
    string Label,
    int Services,
    int RouteGroups,
    int Files,
    double ReadyMs,
    double ReadyCpuMs,
    double FirstSnapshotMs,
    bool RouteGroupsTranslated,
    long GatewayInitialBytes,
    long SidecarInitialBytes,
    double FloorSeconds,
    double FloorCpuMsPerSecond,
    int FloorPushes,
    long RssAfterStart,
    long RssBeforeEdits,
    long RssAfterEdits,
    long PeakRss,
    IReadOnlyList<KindResult> Kinds,
    ChurnResult? Churn,
    string? Failure,
    IReadOnlyList<string> Problems)
{
    /// <summary>What the server started on: a first install (the Sandbox controller still has to make the forks), a restart (they exist), or manifest files (the fork Services are in them).</summary>
    public string Scenario { get; init; } = "";

    /// <summary>Writes of fork objects and of Sandboxes from ready to the end of the edits right after ready (null: no controller).</summary>
    public ControllerWrites? WritesAfterReady { get; init; }
}
