using System.Globalization;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// One soak sample: when (minutes into the run, UTC); the server's RSS and its anonymous part, threads and open files
/// (<c>/proc</c>); from its runtime (<see cref="RuntimeTrace"/>, null when not seen yet) active timers, the managed heap
/// the latest gen2 collection left and the live objects in it, the GC's committed memory, gen2 collections so far and GC handles; the tunnel's
/// round trips so far and the machine's load.
/// </summary>
internal sealed record SoakSample(double Minutes, DateTime At, double RssMib, int Threads, int OpenFiles, double? Timers, long TunnelOk, long TunnelFailed, double Load)
{
    public double? AnonymousMib { get; init; }

    public double? HeapAfterGen2Mib { get; init; }

    public double? LiveAtGen2Mib { get; init; }

    public double? CommittedMib { get; init; }

    public double? Gen2Collections { get; init; }

    public double? GcHandles { get; init; }
}

/// <summary>
/// The soak's samples as CSV (<c>$TMPDIR/fault-bench-soak.csv</c>) and as the SVG for docs; the <c>chart</c> run draws
/// the SVG again from a CSV without running the soak again (a CSV of an older soak, without the runtime's columns, too).
/// </summary>
internal static class SoakChart
{
    private const string Header = "minutes,utc,rss_mib,threads,open_files,timers,tunnel_ok,tunnel_failed,load,rss_anon_mib,heap_after_gen2_mib,gc_committed_mib,gen2_collections,gc_handles,live_at_gen2_mib";

    public static Task WriteCsvAsync(string path, IEnumerable<SoakSample> samples, CancellationToken cancellationToken) =>
        File.WriteAllLinesAsync(path, [Header, .. samples.Select(s => string.Create(CultureInfo.InvariantCulture,
            $"{s.Minutes:0.00},{s.At:yyyy-MM-ddTHH:mm:ssZ},{s.RssMib:0.0},{s.Threads},{s.OpenFiles},{s.Timers},{s.TunnelOk},{s.TunnelFailed},{s.Load:0.00},{s.AnonymousMib:0.0},{s.HeapAfterGen2Mib:0.00},{s.CommittedMib:0.0},{s.Gen2Collections},{s.GcHandles},{s.LiveAtGen2Mib:0.00}"))], cancellationToken);

    public static IReadOnlyList<SoakSample> ReadCsv(string path)
    {
        var lines = File.ReadAllLines(path);
        var columns = lines[0].Split(',').Select((name, index) => (name, index)).ToDictionary(c => c.name, c => c.index, StringComparer.Ordinal);
        return [.. lines.Skip(1).Select(l => l.Split(',')).Select(f =>
        {
            string Text(string column) => columns.TryGetValue(column, out var i) && i < f.Length ? f[i] : "";
            double? Number(string column) => Text(column) is { Length: > 0 } text ? double.Parse(text, CultureInfo.InvariantCulture) : null;
            return new SoakSample(Number("minutes") ?? 0, DateTime.Parse(Text("utc"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal), Number("rss_mib") ?? 0,
                (int)(Number("threads") ?? 0), (int)(Number("open_files") ?? 0), Number("timers"), (long)(Number("tunnel_ok") ?? 0), (long)(Number("tunnel_failed") ?? 0), Number("load") ?? 0)
            {
                AnonymousMib = Number("rss_anon_mib"),
                HeapAfterGen2Mib = Number("heap_after_gen2_mib"),
                LiveAtGen2Mib = Number("live_at_gen2_mib"),
                CommittedMib = Number("gc_committed_mib"),
                Gen2Collections = Number("gen2_collections"),
                GcHandles = Number("gc_handles"),
            };
        })];
    }

    /// <summary>The SVG of <paramref name="samples"/> of a soak with <paramref name="clients"/> streams.</summary>
    public static Task WriteSvgAsync(string path, IReadOnlyList<SoakSample> samples, int clients, CancellationToken cancellationToken)
    {
        var minutes = samples.Count == 0 ? 0 : samples[^1].Minutes;
        var title = string.Create(CultureInfo.InvariantCulture, $"Soak: {minutes:0} min, {clients:N0} ADS streams, load average {samples.Average(s => s.Load):0.0} on 2 cores");
        var subtitle = "an endpoint change a second, a RouteGroup edit every 10 s, a tunnel round trip every 100 ms";
        return File.WriteAllTextAsync(path, SvgChart.Render(title, subtitle, [.. samples.Select(s => s.Minutes)],
        [
            new("Memory", "MiB",
            [
                ("resident (RSS)", [.. samples.Select(s => (double?)s.RssMib)]),
                ("committed by the GC", [.. samples.Select(s => s.CommittedMib)]),
                ("managed heap after the latest gen2 collection", [.. samples.Select(s => s.HeapAfterGen2Mib)]),
                ("live objects at the latest gen2 collection", [.. samples.Select(s => s.LiveAtGen2Mib)]),
            ]),
            new("Threads", "count", [("threads", [.. samples.Select(s => (double?)s.Threads)])]),
            new("Open file descriptors", "count", [("open file descriptors", [.. samples.Select(s => (double?)s.OpenFiles)])]),
            new("Active timers and GC handles", "count",
            [
                ("active timers", [.. samples.Select(s => s.Timers)]),
                ("GC handles (at gen2)", [.. samples.Select(s => s.GcHandles)]),
            ]),
        ]), cancellationToken);
    }
}
