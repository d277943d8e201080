using System.Globalization;
using System.Text;

namespace XdsControlPlane.TunnelBench;

/// <summary>The results as a Markdown table: metric | direct | tunnel | ratio | target met?, with the issue's targets.</summary>
internal static class MarkdownReport
{
    /// <summary>Tunnel throughput with parallel streams must be at least this share of direct (issue 24).</summary>
    public const double ThroughputTarget = 0.25;

    /// <summary>The most latency the tunnel may add at p50, in microseconds.</summary>
    public const double AddedP50TargetMicros = 1000;

    /// <summary>The most the broker may hold per idle tunnelled connection, in bytes.</summary>
    public const double IdleTargetBytes = 64 * 1024;

    public static string Render(BenchResults results, BenchSettings settings, string command)
    {
        var s = new StringBuilder();
        s.AppendLine(F($"Run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount} cores ({Environment.OSVersion}), .NET {Environment.Version}, agent receive window {settings.AgentLimits.ReceiveWindow / 1024} KiB, agent Data frames up to {settings.AgentLimits.MaxData:N0} bytes, agent lanes {settings.AgentLanes} besides its stream, agent TCP_CORK {(settings.AgentCork ? "on" : "off")}, agent raw lanes {(settings.AgentRawLanes ? "on" : "off")}, iperf3 {settings.Seconds} s per measurement, {settings.Repeat} repetition(s), load average {Range(results.LoadAverages)} while measuring{(settings.Quick ? ", --quick" : "")}: `{command}`"));
        s.AppendLine();
        s.AppendLine("| iperf3 throughput, Gbit/s (median; each repetition) | direct | tunnel | ssh -L | tunnel / direct | ssh -L / direct | tunnel ≥ ssh -L? | tunnel CPU ms per MB (broker + agent) | tunnel MB per CPU-second | tunnel thread waits per MB: broker + agent |");
        s.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var t in results.Throughput)
        {
            var (directRate, tunnelRate, sshRate) = (ThroughputResult.Median(t.Direct), ThroughputResult.Median(t.Tunnel), ThroughputResult.Median(t.Ssh));
            var what = What(t);
            var atLeastSsh = t.Ssh.Count == 0 ? "— (no ssh)" : YesNo(tunnelRate >= sshRate);
            var quarter = t.Streams > 1 ? F($"; ≥ 0.25× direct: {YesNo(tunnelRate >= ThroughputTarget * directRate)}") : "";
            s.AppendLine(F($"| {what} | {Gbit(t.Direct)} | {Gbit(t.Tunnel)} | {Gbit(t.Ssh)} | {tunnelRate / directRate:0.00} | {(t.Ssh.Count == 0 ? "—" : F($"{sshRate / directRate:0.00}"))} | {atLeastSsh}{quarter} | {t.TunnelCpuPerMegabyte:0.00} ({t.BrokerCpuPerMegabyte:0.00} + {t.AgentCpuPerMegabyte:0.00}) | {1000 / t.TunnelCpuPerMegabyte:0} | {t.BrokerSwitchesPerMegabyte:0} + {t.AgentSwitchesPerMegabyte:0} |"));
        }

        if (settings.RawLaneProbe)
        {
            s.AppendLine();
            s.AppendLine("| raw lane probe (frames over plain TCP lanes, no flow control: a ceiling, not a tunnel), Gbit/s (median; each repetition) | probe | probe / direct | probe / tunnel | probe CPU ms per MB (both relays) |");
            s.AppendLine("| --- | --- | --- | --- | --- |");
            foreach (var t in results.Throughput)
            {
                var (directRate, tunnelRate, probeRate) = (ThroughputResult.Median(t.Direct), ThroughputResult.Median(t.Tunnel), ThroughputResult.Median(t.RawProbe));
                s.AppendLine(F($"| {What(t)} | {Gbit(t.RawProbe)} | {probeRate / directRate:0.00} | {probeRate / tunnelRate:0.00} | {t.RawProbeCpuPerMegabyte:0.00} |"));
            }
        }

        if (results.SshMissing is { } missing)
        {
            s.AppendLine();
            s.AppendLine(F($"ssh -L not measured: {missing}."));
        }

        s.AppendLine();
        s.AppendLine("| metric | direct | tunnel | ratio | target met? |");
        s.AppendLine("| --- | --- | --- | --- | --- |");
        var (direct, tunnel) = (results.DirectLatency, results.TunnelLatency);
        var added50 = tunnel.P50 - direct.P50;
        s.AppendLine(F($"| round trip 1 KiB / 1 KiB, p50 (µs) | {direct.P50:0} | {tunnel.P50:0} | {tunnel.P50 / direct.P50:0.0} | {YesNo(added50 < AddedP50TargetMicros)}: +{added50:0} µs (< 1,000 µs added) |"));
        s.AppendLine(F($"| round trip 1 KiB / 1 KiB, p99 (µs) | {direct.P99:0} | {tunnel.P99:0} | {tunnel.P99 / direct.P99:0.0} | +{tunnel.P99 - direct.P99:0} µs (no target) |"));
        var idle = results.Idle;
        s.AppendLine(F($"| memory per idle connection, {idle.Connections:N0} held: RSS (KiB); direct: bench process (client and server ends), tunnel: broker process | {idle.DirectResidentPerConnection / 1024:0.0} | {idle.BrokerResidentPerConnection / 1024:0.0} | {Ratio(idle.BrokerResidentPerConnection, idle.DirectResidentPerConnection)} | {YesNo(idle.BrokerResidentPerConnection < IdleTargetBytes)} (broker < 64 KiB) |"));
        s.AppendLine(F($"| managed heap per idle connection, bench process (KiB); direct: client and server ends, tunnel: client, agent and laptop-service ends | {idle.DirectHeapPerConnection / 1024:0.0} | {idle.TunnelHeapPerConnection / 1024:0.0} | {Ratio(idle.TunnelHeapPerConnection, idle.DirectHeapPerConnection)} | agent's share ≈ {(idle.TunnelHeapPerConnection - idle.DirectHeapPerConnection) / 1024:0.0} KiB (no target) |"));
        s.AppendLine();
        s.AppendLine(F($"Broker peak RSS over the run: {results.BrokerPeakResidentBytes / 1024.0 / 1024:0} MiB. Warning/Error lines the server logged: {results.BrokerProblems.Count}. MB = 10^6 bytes; thread waits = voluntary context switches of the broker's and the bench process's threads (the agent's side) during the tunnelled run; latency added = tunnel − direct at the same percentile."));
        return s.ToString();
    }

    private static string What(ThroughputResult t) =>
        F($"{t.Streams} stream{(t.Streams == 1 ? "" : "s")}, {(t.Direction == Direction.ClientToLaptop ? "client → laptop" : "laptop → client")}");

    private static string Gbit(IReadOnlyList<double> rates) =>
        rates.Count == 0 ? "—" : F($"{ThroughputResult.Median(rates) / 1e9:0.00} ({string.Join(", ", rates.Select(r => F($"{r / 1e9:0.00}")))})");

    private static string Range(IReadOnlyList<double> values) => values.Count == 0 ? "—" : F($"{values.Min():0.0} to {values.Max():0.0}");

    private static string Ratio(double tunnel, double direct) => direct > 0 ? F($"{tunnel / direct:0.0}") : "—";

    private static string YesNo(bool met) => met ? "yes" : "**no**";

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
