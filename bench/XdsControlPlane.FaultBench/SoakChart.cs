using System.Globalization;

namespace XdsControlPlane.FaultBench;

/// <summary>One soak sample: when (minutes into the run, UTC), the server's RSS, threads, open files and active timers, the tunnel's round trips so far and the machine's load.</summary>
internal sealed record SoakSample(double Minutes, DateTime At, double RssMib, int Threads, int OpenFiles, double? Timers, long TunnelOk, long TunnelFailed, double Load);

/// <summary>
/// The soak's samples as CSV (<c>$TMPDIR/fault-bench-soak.csv</c>) and as the SVG for docs; the <c>chart</c> run draws
/// the SVG again from a CSV without running the soak again.
/// </summary>
internal static class SoakChart
{
    private const string Header = "minutes,utc,rss_mib,threads,open_files,timers,tunnel_ok,tunnel_failed,load";

    public static Task WriteCsvAsync(string path, IEnumerable<SoakSample> samples, CancellationToken cancellationToken) =>
        File.WriteAllLinesAsync(path, [Header, .. samples.Select(s => string.Create(CultureInfo.InvariantCulture,
            $"{s.Minutes:0.00},{s.At:yyyy-MM-ddTHH:mm:ssZ},{s.RssMib:0.0},{s.Threads},{s.OpenFiles},{s.Timers},{s.TunnelOk},{s.TunnelFailed},{s.Load:0.00}"))], cancellationToken);

    public static IReadOnlyList<SoakSample> ReadCsv(string path) =>
        [.. File.ReadLines(path).Skip(1).Select(l => l.Split(',')).Select(f => new SoakSample(
            D(f[0]), DateTime.Parse(f[1], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal), D(f[2]), int.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture),
            f[5].Length == 0 ? null : D(f[5]), long.Parse(f[6], CultureInfo.InvariantCulture), long.Parse(f[7], CultureInfo.InvariantCulture), D(f[8])))];

    /// <summary>The SVG of <paramref name="samples"/> of a soak with <paramref name="clients"/> streams.</summary>
    public static Task WriteSvgAsync(string path, IReadOnlyList<SoakSample> samples, int clients, CancellationToken cancellationToken)
    {
        var minutes = samples.Count == 0 ? 0 : samples[^1].Minutes;
        var title = string.Create(CultureInfo.InvariantCulture, $"Soak: {minutes:0} min, {clients:N0} ADS streams, load average {samples.Average(s => s.Load):0.0} on 2 cores");
        var subtitle = "an endpoint change a second, a RouteGroup edit every 10 s, a local-connect tunnel carrying a round trip every 100 ms";
        return File.WriteAllTextAsync(path, SvgChart.Render(title, subtitle, [.. samples.Select(s => s.Minutes)],
        [
            ("Resident memory", "MiB", [.. samples.Select(s => (double?)s.RssMib)]),
            ("Threads", "count", [.. samples.Select(s => (double?)s.Threads)]),
            ("Open file descriptors", "count", [.. samples.Select(s => (double?)s.OpenFiles)]),
            ("Active timers (dotnet-counters)", "count", [.. samples.Select(s => s.Timers)]),
        ]), cancellationToken);
    }

    private static double D(string text) => double.Parse(text, CultureInfo.InvariantCulture);
}
