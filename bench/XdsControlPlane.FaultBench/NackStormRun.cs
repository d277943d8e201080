using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using XdsControlPlane.ControlLoopBench;
using XdsControlPlane.Testing;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// A NACK storm: <c>clients</c> streams that reject every response, an endpoint change every second for the run's
/// duration (so every client gets, and rejects, a push a second). Every sample interval: the server's RSS, how long a
/// fresh (accepting) client takes to be in sync, and how long <c>/healthz</c> takes to answer. At the end: NACKs sent,
/// the NACK lines the server wrote and the ones it counted as left out.
/// </summary>
internal sealed partial class NackStormRun(BenchSettings settings)
{
    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        using var inventory = new FaultInventory(settings.Services);
        var progress = settings.Progress;
        var log = settings.Log("nack-storm");
        await using var server = ServerUnderTest.Start(settings.ServerDll, ["--manifests", inventory.Directory, "--webhook-port", "0"], log);
        await server.WaitReadyAsync(TimeSpan.FromSeconds(120), cancellationToken);
        await using var fleet = ClientFleet.Create(settings.Clients, server.XdsPort, nack: true);
        fleet.StartAll();
        _ = await fleet.WaitSyncedAsync(1, settings.Timeout, progress, cancellationToken) ?? throw new TimeoutException("the NACKing clients did not get every type");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.AdminPort}"), Timeout = TimeSpan.FromSeconds(30) };
        var samples = new List<(double Seconds, double RssMib, double FreshSeconds, double HealthMs)>();
        var loads = new List<double>();
        var clock = Stopwatch.StartNew();
        var nextSample = TimeSpan.Zero;
        var nacksBefore = fleet.Clients.Sum(c => c.Nacks);
        var fresh = 0;
        while (clock.Elapsed < settings.Duration)
        {
            await inventory.ChangeEndpointAsync(cancellationToken);
            if (clock.Elapsed >= nextSample)
            {
                nextSample += settings.SampleEvery;
                var health = Stopwatch.StartNew();
                using (var answer = await http.GetAsync(new Uri("/healthz", UriKind.Relative), cancellationToken))
                {
                    answer.EnsureSuccessStatusCode();
                }

                var healthMs = health.Elapsed.TotalMilliseconds;
                var served = Stopwatch.StartNew();
                await using (var client = ReconnectingAdsClient.Connect($"fresh-{++fresh}", "sidecar", server.XdsPort))
                {
                    client.Start();
                    while (client.SyncedStream == 0 && served.Elapsed < settings.Timeout)
                    {
                        await Task.Delay(10, cancellationToken);
                    }
                }

                samples.Add((clock.Elapsed.TotalSeconds, ProcessSample.Of(server.ProcessId).RssMib, served.Elapsed.TotalSeconds, healthMs));
                loads.Add(ProcessSample.LoadAverage());
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {clock.Elapsed.TotalSeconds:0} s: RSS {samples[^1].RssMib:0} MiB, a fresh client in sync in {served.Elapsed.TotalSeconds:0.00} s, /healthz {healthMs:0} ms, NACKs so far {fleet.Clients.Sum(c => c.Nacks) - nacksBefore:N0}"));
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var nacks = fleet.Clients.Sum(c => c.Nacks);
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancellationToken);
        var suppressed = SuppressedLine().Match(metrics) is { Success: true } m ? m.Groups[1].Value : "0";
        var lines = File.ReadLines(log).Count(l => l.Contains("rejected by a NACK-storm client", StringComparison.Ordinal));
        var allLines = File.ReadLines(log).Count();
        var stillServing = fleet.Clients.Count(c => c.Streams == 1);
        return
        [
            $"## NACK storm: {settings.Clients:N0} streams rejecting every push for {settings.Duration.TotalSeconds:0} s",
            "",
            $"Load average {loads.Average():0.0} (mean of the samples; 2 cores, shared); {settings.Services} Services; an endpoint change a second; a sample every {settings.SampleEvery.TotalSeconds:0} s.",
            "",
            "| | first sample | last sample | highest |",
            "|---|---|---|---|",
            $"| server RSS | {samples[0].RssMib:0} MiB | {samples[^1].RssMib:0} MiB | {samples.Max(s => s.RssMib):0} MiB |",
            $"| a fresh client in sync | {samples[0].FreshSeconds:0.00} s | {samples[^1].FreshSeconds:0.00} s | {samples.Max(s => s.FreshSeconds):0.00} s |",
            $"| `/healthz` answered in | {samples[0].HealthMs:0} ms | {samples[^1].HealthMs:0} ms | {samples.Max(s => s.HealthMs):0} ms |",
            "",
            $"NACKs sent: {nacks:N0} ({nacks - nacksBefore:N0} during the storm); streams never cut: {stillServing:N0} / {settings.Clients:N0}; NACK lines in the server's log: {lines} (of {allLines:N0} lines); counted as left out (`xds_client_log_lines_suppressed_total{{kind=\"nack\"}}`): {suppressed}; Warning/Error lines: {server.Problems.Count}.",
            "",
        ];
    }

    [GeneratedRegex(@"xds_client_log_lines_suppressed_total\{kind=""nack""\} (\d+)")]
    private static partial Regex SuppressedLine();
}
