using System.Globalization;
using System.Text;

namespace XdsControlPlane.ControlLoopBench;

/// <summary>When and where a report was measured.</summary>
internal sealed record ReportHeader(DateTimeOffset Started, DateTimeOffset Finished, int Cores, string Runtime, string Server, int Repeat, bool Quick);

/// <summary>
/// The report as markdown: per source, startup and memory per inventory, then one row per edit kind and N with
/// event→push and event→ACK percentiles at the gateway, the ratio of the p50 to the baseline's, what each client
/// was sent per change, and the server's CPU per change next to the idle floor's share of the same window.
/// </summary>
internal static class MarkdownReport
{
    public static string Render(ReportHeader header, IReadOnlyList<RunResult> results)
    {
        var text = new StringBuilder();
        Line(text, $"control-loop bench — {header.Started:yyyy-MM-dd HH:mm} UTC, {(header.Finished - header.Started).TotalMinutes:0.0} min, {header.Cores} cores, .NET {header.Runtime}, {header.Repeat} edits per kind{(header.Quick ? " (--quick)" : "")}");
        Line(text, $"server: {header.Server}");
        foreach (var source in results.Select(r => r.Source).Distinct())
        {
            var runs = results.Where(r => r.Source == source).ToList();
            var baseline = runs.FirstOrDefault(r => r.Label == "baseline");
            Line(text, "");
            Line(text, $"### {source}");
            Line(text, "");
            Line(text, "| inventory | ready (server CPU until then) | first snapshot at both clients | initial bytes gateway / sidecar | idle CPU | pushes while idle | RSS after start → before edits → after edits (peak) | Warning/Error log lines | scenario (writes right after ready) |");
            Line(text, "|---|---:|---:|---:|---:|---:|---|---:|---|");
            foreach (var run in runs)
            {
                Line(text, $"| {Inventory(run)}{(run.RouteGroupsTranslated ? "" : " (RouteGroups NOT seen in gateway RDS)")} | {Ms(run.ReadyMs)} ({Ms(run.ReadyCpuMs)}) | {Ms(run.FirstSnapshotMs)} | {Bytes(run.GatewayInitialBytes)} / {Bytes(run.SidecarInitialBytes)} | {run.FloorCpuMsPerSecond:0} ms/s | {run.FloorPushes} in {run.FloorSeconds:0} s | {Mb(run.RssAfterStart)} → {Mb(run.RssBeforeEdits)} → {Mb(run.RssAfterEdits)} ({Mb(run.PeakRss)}) | {run.Problems.Count} | {run.Scenario}{(run.WritesAfterReady is { } writes ? $" ({writes})" : "")} |");
            }

            Line(text, "");
            Line(text, "| edit | N RouteGroups | edits (timeouts) | event→push p50 / p99 | event→ACK p50 / p99 | p50 ÷ baseline | responses per change gateway / sidecar | bytes per change gateway / sidecar | server CPU per change (idle floor) |");
            Line(text, "|---|---:|---:|---:|---:|---:|---|---:|---:|");
            foreach (var kind in EditKind.Reported)
            {
                foreach (var run in runs)
                {
                    if (run.Kinds.FirstOrDefault(k => k.Kind == kind.Name) is not { } result)
                    {
                        continue;
                    }

                    var reference = baseline?.Kinds.FirstOrDefault(k => k.Kind == kind.Name)?.PushP50;
                    var ratio = result.PushP50 is { } p50 && reference is > 0 && run != baseline ? (p50 / reference.Value).ToString("0.0", CultureInfo.InvariantCulture) + "×" : "";
                    var latency = kind.Expect is null ? "no push expected" : $"{Ms(result.PushP50)} / {Ms(result.PushP99)}";
                    var ack = kind.Expect is null ? "" : $"{Ms(result.AckP50)} / {Ms(result.AckP99)}";
                    var floor = run.FloorCpuMsPerSecond * result.BlockSeconds / Math.Max(1, result.Changes);
                    var skipped = result.Skipped > 0 ? $", {result.Skipped} skipped" : "";
                    Line(text, $"| {kind.Name}{(kind.Expect is null ? "" : $" → {kind.Expect}")} | {(run == baseline ? $"baseline ({run.RouteGroups})" : run.Label)} | {result.Changes} ({result.Timeouts}{skipped}) | {latency} | {ack} | {ratio} | {result.PushedTypes} | {Bytes(result.GatewayBytesPerChange)} / {Bytes(result.SidecarBytesPerChange)} | {result.CpuMsPerChange:0} ms ({floor:0} ms) |");
                }
            }

            foreach (var run in runs.Where(r => r.Churn is not null))
            {
                var churn = run.Churn!;
                Line(text, "");
                Line(text, $"Churn at {Inventory(run)}: {churn.Edits} mixed edits in {churn.Minutes:0.#} min; RSS every 10 s: first {Mb(churn.First)}, last {Mb(churn.Last)}, max {Mb(churn.Max)}.");
            }

            foreach (var run in runs.Where(r => r.Failure is not null))
            {
                Line(text, "");
                Line(text, $"**{Inventory(run)}: {run.Failure}**; the kinds after the last row were not measured.");
            }

            foreach (var run in runs.Where(r => r.Problems.Count > 0))
            {
                Line(text, "");
                Line(text, $"Server log problems at {Inventory(run)} (first 5 of {run.Problems.Count}):");
                foreach (var problem in run.Problems.Take(5))
                {
                    Line(text, $"    {(problem.Length > 300 ? problem[..300] + "…" : problem)}");
                }
            }
        }

        return text.ToString();
    }

    private static string Inventory(RunResult run) =>
        $"{run.Label}: {run.Services} Services, {run.RouteGroups} RouteGroups{(run.Files > 0 ? $", {run.Files} files" : "")}";

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');

    private static string Ms(double? ms) => ms switch
    {
        null => "—",
        < 10 => ms.Value.ToString("0.0", CultureInfo.InvariantCulture) + " ms",
        _ => ms.Value.ToString("0", CultureInfo.InvariantCulture) + " ms",
    };

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("0", CultureInfo.InvariantCulture) + " MiB";

    private static string Bytes(double bytes) => bytes switch
    {
        < 1024 => bytes.ToString("0", CultureInfo.InvariantCulture) + " B",
        < 1048576 => (bytes / 1024).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => (bytes / 1048576).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
    };
}
