using System.Diagnostics;
using System.Text.RegularExpressions;
using XdsControlPlane.ControlLoopBench;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// Many streams connecting at once: <c>clients</c> Envoy-shaped streams, each on its own connection, all opened in one
/// go against a server that just became ready. Reported: the time until every one is in sync, the server's peak and
/// final RSS, and the connections its limits refused (there must be none: see docs/faults.md for the settings).
/// </summary>
internal sealed partial class ConnectStormRun(BenchSettings settings)
{
    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        using var inventory = new FaultInventory(settings.Services);
        var progress = settings.Progress;
        var log = settings.Log("connect-storm");
        await using var server = ServerUnderTest.Start(settings.ServerDll, ["--manifests", inventory.Directory, "--webhook-port", "0"], log);
        await server.WaitReadyAsync(TimeSpan.FromSeconds(120), cancellationToken);
        var idle = ProcessSample.Of(server.ProcessId);
        var load = ProcessSample.LoadAverage();
        await using var fleet = ClientFleet.Create(settings.Clients, server.XdsPort);
        var start = Stopwatch.GetTimestamp();
        var cpuBefore = server.CpuTime();
        fleet.StartAll();
        var synced = await fleet.WaitSyncedAsync(1, settings.Timeout, progress, cancellationToken);
        var cpu = server.CpuTime() - cpuBefore;
        var after = ProcessSample.Of(server.ProcessId);
        var peak = ProcessSample.PeakMib(server.ProcessId);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.AdminPort}") };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancellationToken);
        var refused = RefusedLine().Matches(metrics).Select(m => m.Value).ToList();
        var budget = File.ReadLines(log).Select(l => BudgetText().Match(l)).FirstOrDefault(m => m.Success) is { } found ? $"connection budget is {found.Groups[1].Value} (event 1203)" : "connection budget was not logged";
        var inSync = fleet.Clients.Count(c => c.SyncedStream >= 1);
        var redialled = fleet.Clients.Count(c => c.Streams > 1);
        return
        [
            $"## {settings.Clients:N0} ADS streams connecting at once",
            "",
            $"Load average {load:0.0} (2 cores, shared); {settings.Services} Services; one connection per stream from {fleet.Peers} loopback source addresses ({ClientFleet.PerPeer} each); the server's {budget}.",
            "",
            "| | |",
            "|---|---|",
            $"| streams in sync | {inSync:N0} / {settings.Clients:N0} |",
            $"| all opened → all in sync | {(synced is { } t ? $"{Stopwatch.GetElapsedTime(start, t).TotalSeconds:0.0} s" : "not within the timeout")} |",
            $"| server CPU time meanwhile | {cpu.TotalSeconds:0.0} s |",
            $"| server RSS idle → after → peak (VmHWM) | {idle.RssMib:0} → {after.RssMib:0} → {peak:0} MiB |",
            $"| server threads / open files after | {after.Threads} / {after.OpenFiles:N0} |",
            $"| clients that had to redial | {redialled:N0} |",
            $"| connections refused by the limits | {(refused.Count == 0 ? "none" : string.Join("; ", refused))} |",
            $"| Warning/Error lines | {server.Problems.Count} |",
            "",
        ];
    }

    [GeneratedRegex(@"server_connections_refused_total\{[^}]*\} [1-9]\d*")]
    private static partial Regex RefusedLine();

    [GeneratedRegex(@"""Budget"":\s*(\d+)")]
    private static partial Regex BudgetText();
}
