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
/// (<c>/proc</c>), from its runtime (<see cref="RuntimeTrace"/>) the managed heap each gen2 collection left, the GC's
/// committed memory, active timers and GC handles, and the tunnel round trips. Writes the samples as CSV and the curves
/// as an SVG, and judges each curve by its <see cref="FlatRule"/>.
/// </summary>
internal sealed class SoakRun(BenchSettings settings)
{
    private const int WorkloadPort = 9000;

    /// <summary>Whether, after <see cref="RunAsync"/>, a curve grew past its <see cref="FlatRule"/>.</summary>
    public bool Grew { get; private set; }

    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        using var inventory = new FaultInventory(settings.Services);
        var progress = settings.Progress;
        var tunnelPort = FreePort.Next();
        await using var server = ServerUnderTest.Start(settings.ServerDll, ["--manifests", inventory.Directory, "--webhook-port", "0", "--tunnel-port", tunnelPort.ToString(CultureInfo.InvariantCulture), "--tunnel-listen-ports", "0"], settings.Log("soak"),
            settings.MaxStreamAge is { } age ? new Dictionary<string, string> { ["XDSCP_Xds__MaxStreamAge"] = age.ToString("c", CultureInfo.InvariantCulture) } : null);
        await server.WaitReadyAsync(TimeSpan.FromSeconds(120), cancellationToken);
        await using var fleet = ClientFleet.Create(settings.Clients, server.XdsPort);
        fleet.StartAll();
        _ = await fleet.WaitSyncedAsync(1, settings.Timeout, progress, cancellationToken) ?? throw new TimeoutException("the clients did not get in sync");
        await using var traffic = new TunnelTraffic();
        var hello = TunnelTestAgent.Hello("faults", "laptop-dev", "laptop", [WorkloadPort], routingKey: "laptop", session: Guid.NewGuid().ToString("N"));
        await using var agent = await TunnelTestAgent.ConnectAsync(tunnelPort, hello, new Dictionary<int, int> { [WorkloadPort] = traffic.EchoPort }, cancellationToken: cancellationToken);
        var endpoint = agent.Welcome.Endpoints.Single(e => e.Port == WorkloadPort);
        traffic.Start(new IPEndPoint(IPAddress.Parse(endpoint.Address), (int)endpoint.BrokerPort), TimeSpan.FromMilliseconds(100));
        await using var runtime = RuntimeTrace.Start(server.ProcessId, settings.SampleEvery);
        progress.WriteLine($"soak for {settings.Duration.TotalMinutes:0.#} min: server process {server.ProcessId}, {settings.Clients} streams, the agent's traffic through {endpoint.Address}:{endpoint.BrokerPort}");

        var samples = new List<SoakSample>();
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var nextSample = TimeSpan.Zero;
        var edits = 0;
        var cpuStart = server.CpuTime();
        var handlesHalfWay = runtime.Handles.Snapshot();
        var halfWayTaken = false;
        while (clock.Elapsed < settings.Duration)
        {
            await inventory.ChangeEndpointAsync(cancellationToken);
            if (++edits % 10 == 0)
            {
                await inventory.ChangeRouteGroupAsync(cancellationToken);
            }

            if (!halfWayTaken && clock.Elapsed >= settings.Duration / 2)
            {
                (handlesHalfWay, halfWayTaken) = (runtime.Handles.Snapshot(), true);
            }

            if (clock.Elapsed >= nextSample)
            {
                nextSample += settings.SampleEvery;
                samples.Add(Sample(clock.Elapsed.TotalMinutes, server.ProcessId, runtime, traffic));
                var s = samples[^1];
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {s.Minutes:0.0} min: RSS {s.RssMib:0} MiB, GC committed {s.CommittedMib:0} MiB, after gen2 heap {s.HeapAfterGen2Mib:0.0} MiB, live {s.LiveAtGen2Mib:0.0} MiB ({s.Gen2Collections} gen2), {s.Threads} threads, {s.OpenFiles} fds, {s.Timers} timers, tunnel {traffic.Ok} ok / {traffic.Failed} failed, load {s.Load:0.0}"));
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        var cpu = server.CpuTime() - cpuStart;
        var handlesAtEnd = runtime.Handles.Snapshot();
        var end = clock.Elapsed.TotalMinutes;
        var gen2 = runtime.Gen2Collections.Where(c => c.At >= started).Select(c => (Minutes: (c.At - started).TotalMinutes, Collection: c)).ToList();
        var verdicts = Judge(samples, gen2, end);
        Grew = verdicts.Any(v => v.Grows);
        var streamsCut = fleet.Clients.Count(c => c.Streams > 1);
        var stillSynced = fleet.Clients.Count(c => c.SyncedStream >= 1);
        var csv = Path.Combine(Path.GetTempPath(), "fault-bench-soak.csv");
        await SoakChart.WriteCsvAsync(csv, samples, cancellationToken);
        var gen2Csv = Path.Combine(Path.GetTempPath(), "fault-bench-soak-gen2.csv");
        await File.WriteAllLinesAsync(gen2Csv, ["minutes,utc,heap_mib,live_mib,large_objects_mib,gc_handles", .. gen2.Select(g => string.Create(CultureInfo.InvariantCulture,
            $"{g.Minutes:0.00},{g.Collection.At:yyyy-MM-ddTHH:mm:ss.fffZ},{g.Collection.HeapMib:0.00},{g.Collection.LiveMib:0.00},{g.Collection.LargeObjectsMib:0.00},{g.Collection.Handles}"))], cancellationToken);
        progress.WriteLine($"samples: {csv}, gen2 collections: {gen2Csv}");
        if (settings.SvgPath is { } svg)
        {
            await SoakChart.WriteSvgAsync(svg, samples, settings.Clients, cancellationToken);
        }

        var load = samples.Average(s => s.Load);
        return
        [
            $"## Soak: {settings.Duration.TotalMinutes:0.#} minutes of churn",
            "",
            string.Create(CultureInfo.InvariantCulture, $"Load average {load:0.0} (mean of the samples; 2 cores, shared); {settings.Services} Services; {settings.Clients:N0} streams; streams recycled after {(settings.MaxStreamAge is { } maxAge ? $"{maxAge.TotalMinutes:0.#} min (± 10%, Xds:MaxStreamAge)" : "the server's default, 30 min (± 10%)")}; {edits:N0} endpoint changes and {edits / 10:N0} RouteGroup edits; server CPU {cpu.TotalSeconds:0} s; a sample every {settings.SampleEvery.TotalSeconds:0} s ({samples.Count})."),
            "",
            "| | first sample | mean, first half | mean, second half | last | highest |",
            "|---|---|---|---|---|---|",
            Row("RSS (MiB)", samples.Select(s => (double?)s.RssMib).ToList()),
            Row("RSS, anonymous (MiB)", samples.Select(s => s.AnonymousMib).ToList()),
            Row("RSS, files and JIT code (MiB)", samples.Select(s => s.RssMib - s.AnonymousMib).ToList()),
            Row("GC committed (MiB)", samples.Select(s => s.CommittedMib).ToList()),
            Row("managed heap after gen2 (MiB)", gen2.Select(g => (double?)g.Collection.HeapMib).ToList()),
            Row("live objects at gen2 (MiB)", gen2.Select(g => (double?)g.Collection.LiveMib).ToList()),
            Row("threads", samples.Select(s => (double?)s.Threads).ToList()),
            Row("open file descriptors", samples.Select(s => (double?)s.OpenFiles).ToList()),
            Row("active timers", samples.Select(s => s.Timers).ToList()),
            Row("GC handles (at gen2)", gen2.Select(g => (double?)g.Collection.Handles).ToList()),
            "",
            string.Create(CultureInfo.InvariantCulture, $"Gen2 collections in the run: {gen2.Count} (the managed heap row has one value per collection). Flat means: each curve's slope (Theil–Sen: the median of the slopes between every two samples) over the second half of the run (minute {end / 2:0.#} on) {FlatRule.Description}:"),
            "",
            "| curve | allowed growth per 10 min | slope of the second half, per 10 min | limit, per 10 min | points | verdict |",
            "|---|---|---|---|---|---|",
            .. verdicts.Select(v => v.Row()),
            "",
            .. GcHandleLedger.Table(handlesHalfWay, handlesAtEnd),
            "",
            verdicts.Any(v => v.Grows) ? $"**Not flat**: {string.Join(", ", verdicts.Where(v => v.Grows).Select(v => v.Rule.Name))} grow(s)." : verdicts.Any(v => v.PerTenMinutes is null) ? "**Flat** where judged (some curves had too few points for a verdict)." : "**Flat**: no curve grows past its limit.",
            "",
            $"Tunnel round trips: {traffic.Ok:N0} ok, {traffic.Failed:N0} failed; streams cut during the run: {streamsCut:N0}; in sync: {stillSynced:N0} / {settings.Clients:N0}; Warning/Error lines: {server.Problems.Count}.",
            "",
        ];
    }

    /// <summary>The rules the soak judges its curves by (see <see cref="FlatRule"/>).</summary>
    private static readonly FlatRule[] Rules =
    [
        new("RSS", "MiB", 0.01, 2),
        new("managed heap after gen2", "MiB", 0.01, 1),
        new("live objects at gen2", "MiB", 0.01, 1),
        new("GC committed", "MiB", 0.01, 2),
        new("threads", "count", 0, 2),
        new("open file descriptors", "count", 0.01, 5),
        new("active timers", "count", 0.01, 5),
        new("GC handles", "count", 0.01, 20),
    ];

    private static SoakSample Sample(double minutes, int processId, RuntimeTrace runtime, TunnelTraffic traffic)
    {
        var process = ProcessSample.Of(processId);
        var last = runtime.Gen2Collections is [.., var g] ? g : null;
        var committed = runtime.Counter("gc-committed");
        return new SoakSample(minutes, DateTime.UtcNow, process.RssMib, process.Threads, process.OpenFiles, runtime.Counter("active-timer-count"), traffic.Ok, traffic.Failed, ProcessSample.LoadAverage())
        {
            AnonymousMib = process.AnonymousMib,
            HeapAfterGen2Mib = last?.HeapMib,
            LiveAtGen2Mib = last?.LiveMib,
            CommittedMib = committed * 1000 * 1000 / (1024.0 * 1024.0), // the counter is in MB
            Gen2Collections = runtime.Counter("gen-2-gc-count"),
            GcHandles = last?.Handles,
        };
    }

    private static List<FlatVerdict> Judge(IReadOnlyList<SoakSample> samples, IReadOnlyList<(double Minutes, Gen2Collection Collection)> gen2, double end)
    {
        IEnumerable<(double, double)> Of(Func<SoakSample, double?> value) => samples.Where(s => value(s) is not null).Select(s => (s.Minutes, value(s)!.Value));
        return
        [
            Rules[0].Judge(Of(s => s.RssMib), end),
            Rules[1].Judge(gen2.Select(g => (g.Minutes, g.Collection.HeapMib)), end),
            Rules[2].Judge(gen2.Select(g => (g.Minutes, g.Collection.LiveMib)), end),
            Rules[3].Judge(Of(s => s.CommittedMib), end),
            Rules[4].Judge(Of(s => s.Threads), end),
            Rules[5].Judge(Of(s => s.OpenFiles), end),
            Rules[6].Judge(Of(s => s.Timers), end),
            Rules[7].Judge(gen2.Select(g => (g.Minutes, (double)g.Collection.Handles)), end),
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
