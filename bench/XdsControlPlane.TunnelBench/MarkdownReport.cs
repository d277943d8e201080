using System.Globalization;
using System.Text;

namespace XdsControlPlane.TunnelBench;

/// <summary>The results as a Markdown table: metric | direct | tunnel | ratio | target met?, with the issue's targets.</summary>
internal static class MarkdownReport
{
    /// <summary>Tunnel throughput must be at least this share of direct.</summary>
    public const double ThroughputTarget = 0.5;

    /// <summary>The most latency the tunnel may add at p50, in microseconds.</summary>
    public const double AddedP50TargetMicros = 1000;

    /// <summary>The most the broker may hold per idle tunnelled connection, in bytes.</summary>
    public const double IdleTargetBytes = 64 * 1024;

    public static string Render(BenchResults results, BenchSettings settings, string command)
    {
        var s = new StringBuilder();
        s.AppendLine(F($"Run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({Environment.OSVersion}), .NET {Environment.Version}, agent receive window {settings.AgentLimits.ReceiveWindow / 1024} KiB, agent Data frames up to {settings.AgentLimits.MaxData / 1024} KiB{(settings.Quick ? ", --quick" : "")}: `{command}`"));
        s.AppendLine();
        s.AppendLine("| metric | direct | tunnel | ratio | target met? |");
        s.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var t in results.Throughput)
        {
            var ratio = t.Tunnel / t.Direct;
            var what = t.Connections == 1 ? "1 connection" : F($"{t.Connections} connections in parallel, aggregate");
            var way = t.Direction == Direction.ClientToLaptop ? "client → laptop" : "laptop → client";
            s.AppendLine(F($"| throughput, {what}, {way}, {Size(t.Connections * t.BytesEach)} (MB/s) | {t.Direct:0} | {t.Tunnel:0} | {ratio:0.00} | {YesNo(ratio >= ThroughputTarget)} (≥ 0.50) |"));
        }

        var (direct, tunnel) = (results.DirectLatency, results.TunnelLatency);
        var added50 = tunnel.P50 - direct.P50;
        s.AppendLine(F($"| round trip 1 KiB / 1 KiB, p50 (µs) | {direct.P50:0} | {tunnel.P50:0} | {tunnel.P50 / direct.P50:0.0} | {YesNo(added50 < AddedP50TargetMicros)}: +{added50:0} µs (< 1,000 µs added) |"));
        s.AppendLine(F($"| round trip 1 KiB / 1 KiB, p99 (µs) | {direct.P99:0} | {tunnel.P99:0} | {tunnel.P99 / direct.P99:0.0} | +{tunnel.P99 - direct.P99:0} µs (no target) |"));
        var idle = results.Idle;
        s.AppendLine(F($"| memory per idle connection, {idle.Connections:N0} held: RSS (KiB); direct: bench process (client and server ends), tunnel: broker process | {idle.DirectResidentPerConnection / 1024:0.0} | {idle.BrokerResidentPerConnection / 1024:0.0} | {Ratio(idle.BrokerResidentPerConnection, idle.DirectResidentPerConnection)} | {YesNo(idle.BrokerResidentPerConnection < IdleTargetBytes)} (broker < 64 KiB) |"));
        s.AppendLine(F($"| managed heap per idle connection, bench process (KiB); direct: client and server ends, tunnel: client, agent and laptop-service ends | {idle.DirectHeapPerConnection / 1024:0.0} | {idle.TunnelHeapPerConnection / 1024:0.0} | {Ratio(idle.TunnelHeapPerConnection, idle.DirectHeapPerConnection)} | agent's share ≈ {(idle.TunnelHeapPerConnection - idle.DirectHeapPerConnection) / 1024:0.0} KiB (no target) |"));
        s.AppendLine();
        s.AppendLine("| transfer | cores busy, direct (bench process: both ends) | cores busy, tunnel: broker + bench process (client, agent, laptop service) | CPU ms per MB, direct | CPU ms per MB, tunnel |");
        s.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var t in results.Throughput)
        {
            s.AppendLine(F($"| {t.Connections} × {(t.Direction == Direction.ClientToLaptop ? "client → laptop" : "laptop → client")} | {t.DirectCores:0.00} | {t.BrokerCores:0.00} + {t.BenchCores:0.00} | {t.DirectCpuPerMegabyte:0.00} | {t.TunnelCpuPerMegabyte:0.00} |"));
        }
        s.AppendLine();
        s.AppendLine(F($"Broker peak RSS over the run: {results.BrokerPeakResidentBytes / 1024.0 / 1024:0} MiB. Warning/Error lines the server logged: {results.BrokerProblems.Count}. MB = 10^6 bytes; latency added = tunnel − direct at the same percentile."));
        return s.ToString();
    }

    private static string Size(long bytes) => bytes >= 1024L * 1024 * 1024 ? F($"{bytes / (1024.0 * 1024 * 1024):0.#} GiB") : F($"{bytes / (1024.0 * 1024):0} MiB");

    private static string Ratio(double tunnel, double direct) => direct > 0 ? F($"{tunnel / direct:0.0}") : "—";

    private static string YesNo(bool met) => met ? "yes" : "**no**";

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
