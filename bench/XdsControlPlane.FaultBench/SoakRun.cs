using System.Diagnostics;
using System.Globalization;
using System.Net;
using XdsControlPlane.ControlLoopBench;
using XdsControlPlane.Testing;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// A soak: for the run's duration, an endpoint change every second and a RouteGroup edit every 10 s, <c>clients</c>
/// accepting streams, and one local-connect agent (the tests' agent on the real multiplexer) carrying a 1 KiB round trip
/// every 100 ms to an echo service. Every sample interval: the server's RSS, threads and open file descriptors
/// (<c>/proc</c>), its active timers (<c>dotnet-counters</c>, when installed), and the tunnel round trips. Writes the
/// samples as CSV and the curves as an SVG.
/// </summary>
internal sealed class SoakRun(BenchSettings settings)
{
    private const int WorkloadPort = 9000;

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        using var inventory = new FaultInventory(settings.Services);
        var progress = settings.Progress;
        var tunnelPort = FreePort.Next();
        await using var server = ServerUnderTest.Start(settings.ServerDll, ["--manifests", inventory.Directory, "--webhook-port", "0", "--tunnel-port", tunnelPort.ToString(CultureInfo.InvariantCulture), "--tunnel-listen-ports", "0"], settings.Log("soak"));
        await server.WaitReadyAsync(TimeSpan.FromSeconds(120), cancellationToken);
        await using var fleet = ClientFleet.Create(settings.Clients, server.XdsPort);
        fleet.StartAll();
        _ = await fleet.WaitSyncedAsync(1, settings.Timeout, progress, cancellationToken) ?? throw new TimeoutException("the clients did not get in sync");
        await using var traffic = new TunnelTraffic();
        var hello = TunnelTestAgent.Hello("faults", "laptop-dev", "laptop", [WorkloadPort], routingKey: "laptop", session: Guid.NewGuid().ToString("N"));
        await using var agent = await TunnelTestAgent.ConnectAsync(tunnelPort, hello, new Dictionary<int, int> { [WorkloadPort] = traffic.EchoPort }, cancellationToken: cancellationToken);
        var endpoint = agent.Welcome.Endpoints.Single(e => e.Port == WorkloadPort);
        traffic.Start(new IPEndPoint(IPAddress.Parse(endpoint.Address), (int)endpoint.BrokerPort), TimeSpan.FromMilliseconds(100));
        using var timers = new RuntimeTimers(server.ProcessId, settings.SampleEvery, settings.Duration + settings.SampleEvery);
        progress.WriteLine($"soak for {settings.Duration.TotalMinutes:0.#} min: {settings.Clients} streams, the agent's traffic through {endpoint.Address}:{endpoint.BrokerPort}, timers from dotnet-counters: {(timers.Available ? "yes" : "no")}");

        var samples = new List<SoakSample>();
        var clock = Stopwatch.StartNew();
        var nextSample = TimeSpan.Zero;
        var edits = 0;
        var cpuStart = server.CpuTime();
        while (clock.Elapsed < settings.Duration)
        {
            await inventory.ChangeEndpointAsync(cancellationToken);
            if (++edits % 10 == 0)
            {
                await inventory.ChangeRouteGroupAsync(cancellationToken);
            }

            if (clock.Elapsed >= nextSample)
            {
                nextSample += settings.SampleEvery;
                var process = ProcessSample.Of(server.ProcessId);
                samples.Add(new SoakSample(clock.Elapsed.TotalMinutes, DateTime.UtcNow, process.RssMib, process.Threads, process.OpenFiles, null, traffic.Ok, traffic.Failed, ProcessSample.LoadAverage()));
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {clock.Elapsed.TotalMinutes:0.0} min: RSS {process.RssMib:0} MiB, {process.Threads} threads, {process.OpenFiles} fds, tunnel {traffic.Ok} ok / {traffic.Failed} failed, load {samples[^1].Load:0.0}"));
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        var cpu = server.CpuTime() - cpuStart;

        // dotnet-counters writes its rows when it ends: each sample takes the last row at or before it.
        var timerRows = await timers.ReadAsync(settings.SampleEvery * 3);
        samples = [.. samples.Select(s => s with { Timers = timerRows.LastOrDefault(r => r.At <= s.At.AddSeconds(1)) is { At.Ticks: > 0 } row ? row.Timers : null })];
        var streamsCut = fleet.Clients.Count(c => c.Streams > 1);
        var stillSynced = fleet.Clients.Count(c => c.SyncedStream >= 1);
        var csv = Path.Combine(Path.GetTempPath(), "fault-bench-soak.csv");
        await SoakChart.WriteCsvAsync(csv, samples, cancellationToken);
        progress.WriteLine($"samples: {csv}");
        if (settings.SvgPath is { } svg)
        {
            await SoakChart.WriteSvgAsync(svg, samples, settings.Clients, cancellationToken);
        }

        var load = samples.Average(s => s.Load);
        return
        [
            $"## Soak: {settings.Duration.TotalMinutes:0.#} minutes of churn",
            "",
            string.Create(CultureInfo.InvariantCulture, $"Load average {load:0.0} (mean of the samples; 2 cores, shared); {settings.Services} Services; {settings.Clients:N0} streams; {edits:N0} endpoint changes and {edits / 10:N0} RouteGroup edits; server CPU {cpu.TotalSeconds:0} s; a sample every {settings.SampleEvery.TotalSeconds:0} s ({samples.Count})."),
            "",
            "| | first sample | mean, first half | mean, second half | last | highest |",
            "|---|---|---|---|---|---|",
            Row("RSS (MiB)", samples.Select(s => (double?)s.RssMib).ToList()),
            Row("threads", samples.Select(s => (double?)s.Threads).ToList()),
            Row("open file descriptors", samples.Select(s => (double?)s.OpenFiles).ToList()),
            Row("active timers", samples.Select(s => s.Timers).ToList()),
            "",
            $"Tunnel round trips: {traffic.Ok:N0} ok, {traffic.Failed:N0} failed; streams cut during the run: {streamsCut:N0}; in sync: {stillSynced:N0} / {settings.Clients:N0}; Warning/Error lines: {server.Problems.Count}.",
            "",
        ];
    }

    private static string Row(string name, IReadOnlyList<double?> values)
    {
        var known = values.OfType<double>().ToList();
        if (known.Count == 0)
        {
            return $"| {name} | not measured | | | | |";
        }

        var half = known.Count / 2;
        static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
        return $"| {name} | {F(known[0])} | {F(known.Take(Math.Max(1, half)).Average())} | {F(known.Skip(half).Average())} | {F(known[^1])} | {F(known.Max())} |";
    }

}
