using System.Diagnostics;
using System.Globalization;

namespace XdsControlPlane.ControlLoopBench;

/// <summary>What every run shares: the server to start, how often each edit repeats, and the waits.</summary>
internal sealed record RunSettings(string ServerDll, int Repeat, TimeSpan Floor, TimeSpan PushTimeout, TimeSpan NoPushWindow, double ChurnMinutes)
{
    /// <summary>Start the server with <c>--scoped-routes</c> (the gateway's routes through scoped RDS).</summary>
    public bool ScopedRoutes { get; init; }

    /// <summary>Write a line per edit to the progress output: its time, its latency and every response each client got until the next edit (<c>--edit-log</c>).</summary>
    public bool EditLog { get; init; }

    /// <summary>Environment variables for the server only (<c>--server-env NAME=VALUE</c>, e.g. a diagnostic port for a profiler).</summary>
    public IReadOnlyDictionary<string, string> ServerEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Measure a restart rather than a first install (<c>--scenario restart</c>, Kubernetes only): a first server runs
    /// on the inventory until the Sandbox controller has made the forks and written the Sandboxes' status, and is stopped
    /// (SIGTERM); the measured server then starts on what it left, as after a rolling update of the control plane.
    /// </summary>
    public bool Restart { get; init; }

    /// <summary>Measure startup and the edits right after ready only, not the settled edits (<c>--after-ready-only</c>: a quick look at ready time and the first edits).</summary>
    public bool AfterReadyOnly { get; init; }
}

/// <summary>
/// One measured run: generates the inventory, puts it in place, starts the server on it, connects a gateway and a
/// sidecar client, measures startup, the idle floor, then each edit kind in turn (each edit spaced from the next so
/// debounces do not merge them) and, when asked, a churn of mixed edits. Never waits more than the push timeout for
/// one edit, and gives up on a kind after three timeouts in a row.
/// </summary>
internal sealed class ControlLoopRun(RunSettings settings, TextWriter progress)
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MinSpacing = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);
    private const int MaxConsecutiveTimeouts = 3;

    public async Task<RunResult> RunAsync(IInventoryTarget target, string label, int services, int routeGroups, bool allKinds, bool churn, CancellationToken cancellationToken)
    {
        var inventory = Inventory.Generate(services, routeGroups, withController: target is FakeClusterTarget);
        var sourceArgs = await target.StartAsync(inventory, cancellationToken);
        var files = target is ManifestDirectoryTarget manifests ? manifests.Files : 0;
        progress.WriteLine($"[{target.Source} {label}] {services} Services, {routeGroups} RouteGroups{(files > 0 ? $", {files} files" : "")}: starting the server");
        var logFile = Path.Combine(Path.GetTempPath(), $"control-loop-bench-server-{target.Source}-{label.Replace(' ', '-')}.log");
        if (settings.Restart && target is FakeClusterTarget cluster)
        {
            await RunPreviousServerAsync(cluster, inventory, sourceArgs, logFile.Replace(".log", "-previous.log", StringComparison.Ordinal), cancellationToken);
            progress.WriteLine($"[{target.Source} {label}] the previous server made the forks and was stopped; starting the measured server");
        }

        await using var server = ServerUnderTest.Start(settings.ServerDll, settings.ScopedRoutes ? [.. sourceArgs, "--scoped-routes"] : sourceArgs, logFile, settings.ServerEnvironment);
        var ready = await server.WaitReadyAsync(TimeSpan.FromMinutes(5), cancellationToken);
        var readyCpu = server.CpuTime();
        await using var gateway = new AdsClient("gateway", "gateway", server.XdsPort, inventory.SubscribedClusters);
        await using var sidecar = new AdsClient("sidecar", "sidecar", server.XdsPort, inventory.SubscribedClusters);
        var probe = $"user-{0:00000}";
        gateway.Watch(probe);
        gateway.Start();
        sidecar.Start();
        foreach (var client in new[] { gateway, sidecar })
        {
            foreach (var type in new[] { "CDS", "EDS", "LDS", "RDS" })
            {
                if (await client.WaitForAsync(0, r => r.Type == type, TimeSpan.FromMinutes(3), cancellationToken) is null)
                {
                    throw new TimeoutException($"the {client.Name} got no {type} within 3 minutes{(client.Failure is null ? "" : $": {client.Failure.Message}")}");
                }
            }
        }

        var firstSnapshot = Stopwatch.GetElapsedTime(server.Started);
        var translated = gateway.Since(0).Any(r => r.Type == "RDS" && r.Markers.Contains(probe));
        var (gatewayInitial, sidecarInitial) = (gateway.Since(0).Sum(r => (long)r.Bytes), sidecar.Since(0).Sum(r => (long)r.Bytes));
        var rssAfterStart = server.Memory("VmRSS");
        progress.WriteLine($"[{target.Source} {label}] ready after {ready.TotalMilliseconds:0} ms (server CPU {readyCpu.TotalMilliseconds:0} ms), first snapshot at both clients after {firstSnapshot.TotalMilliseconds:0} ms");

        // Right after ready: edits at once, no warm-up, while the server still settles (the first status pass).
        var context = new EditContext(inventory, target, cancellationToken);
        var kinds = new List<KindResult>();
        var writesAtReady = target.Writes();
        foreach (var kind in EditKind.AfterReady)
        {
            progress.WriteLine($"[{target.Source} {label}] {kind.Name}: first edit {(Stopwatch.GetElapsedTime(server.Started) - ready).TotalMilliseconds:0} ms after ready");
            kinds.Add(await MeasureKindAsync(kind, context, server, gateway, sidecar, warmUp: false, cancellationToken));
            Report(target, label, kinds[^1]);
        }

        var writesAfterReady = target.Writes() is { } writesNow && writesAtReady is not null ? writesNow - writesAtReady : null;
        if (writesAfterReady is not null)
        {
            progress.WriteLine($"[{target.Source} {label}] writes from ready to the end of the edits right after ready: {writesAfterReady}");
        }

        // The floor: the same server doing nothing, after a moment to settle from startup.
        await Task.Delay(Settle, cancellationToken);
        var (floorFromG, floorFromS) = (gateway.Count, sidecar.Count);
        var cpuBefore = server.CpuTime();
        await Task.Delay(settings.Floor, cancellationToken);
        var floorCpu = (server.CpuTime() - cpuBefore).TotalMilliseconds / settings.Floor.TotalSeconds;
        var floorPushes = gateway.Since(floorFromG).Count + sidecar.Since(floorFromS).Count;
        var rssBefore = server.Memory("VmRSS");

        string? failure = null;
        ChurnResult? churnResult = null;
        var rssAfter = 0L;
        try
        {
            foreach (var kind in EditKind.All.Where(k => !settings.AfterReadyOnly && (allKinds || k.Expect is not null)))
            {
                kinds.Add(await MeasureKindAsync(kind, context, server, gateway, sidecar, warmUp: true, cancellationToken));
                Report(target, label, kinds[^1]);
            }

            rssAfter = server.Memory("VmRSS");
            churnResult = churn && settings.ChurnMinutes > 0 ? await ChurnAsync(context, server, cancellationToken) : null;
        }
        catch (InvalidOperationException e) when (server.Exit is not null)
        {
            // The server died: report what was measured up to then.
            failure = e.Message;
            progress.WriteLine($"[{target.Source} {label}] {failure}");
        }

        return new RunResult(target.Source, label, services, routeGroups, files, ready.TotalMilliseconds, readyCpu.TotalMilliseconds, firstSnapshot.TotalMilliseconds, translated,
            gatewayInitial, sidecarInitial, settings.Floor.TotalSeconds, floorCpu, floorPushes, rssAfterStart, rssBefore, rssAfter,
            server.Exit is null ? server.Memory("VmHWM") : 0, kinds, churnResult, failure, server.Problems)
        {
            Scenario = target is FakeClusterTarget ? (settings.Restart ? "restart (forks made before)" : "first install") : "forks in the files",
            WritesAfterReady = writesAfterReady,
        };
    }

    /// <summary>Runs a server on the inventory until the Sandbox controller has made the forks, then stops it gracefully.</summary>
    private async Task RunPreviousServerAsync(FakeClusterTarget cluster, Inventory inventory, IReadOnlyList<string> sourceArgs, string logFile, CancellationToken cancellationToken)
    {
        await using var previous = ServerUnderTest.Start(settings.ServerDll, sourceArgs, logFile, settings.ServerEnvironment);
        await previous.WaitReadyAsync(TimeSpan.FromMinutes(5), cancellationToken);
        await cluster.WaitForForksAsync(inventory, TimeSpan.FromMinutes(3), cancellationToken);
        await previous.StopAsync(cancellationToken);
    }

    private void Report(IInventoryTarget target, string label, KindResult last) =>
        progress.WriteLine($"[{target.Source} {label}] {last.Kind}: {last.Changes} edits, p50 {last.PushP50?.ToString("0", CultureInfo.InvariantCulture) ?? "—"} ms, p99 {last.PushP99?.ToString("0", CultureInfo.InvariantCulture) ?? "—"} ms, max {last.PushMax?.ToString("0", CultureInfo.InvariantCulture) ?? "—"} ms, {last.Timeouts} timeouts, pushed {last.PushedTypes}");

    private async Task<KindResult> MeasureKindAsync(EditKind kind, EditContext context, ServerUnderTest server, AdsClient gateway, AdsClient sidecar, bool warmUp, CancellationToken cancellationToken)
    {
        // One unmeasured edit first (but right after ready, where the first edit is what users meet): it takes the JIT
        // and first-use costs of the kind's path (and turns the LocalWorkload Connected).
        if (warmUp)
        {
            await MeasureEditAsync(kind, context, settings.Repeat, gateway, sidecar, cancellationToken);
        }

        var samples = new List<EditSample>();
        var consecutiveTimeouts = 0;
        var cpuBefore = server.CpuTime();
        var block = Stopwatch.StartNew();
        // An edit that expects no push has no latency to spread: half as many of them tell whether pushes come.
        var repeats = kind.Expect is null ? Math.Max(1, (settings.Repeat + 1) / 2) : settings.Repeat;
        for (var repeat = 0; repeat < repeats && consecutiveTimeouts < MaxConsecutiveTimeouts; repeat++)
        {
            var sample = await MeasureEditAsync(kind, context, repeat, gateway, sidecar, cancellationToken);
            samples.Add(sample);
            consecutiveTimeouts = sample.TimedOut ? consecutiveTimeouts + 1 : 0;
        }

        return new KindResult(kind.Name, kind.Expect, samples, repeats - samples.Count, block.Elapsed.TotalSeconds, (server.CpuTime() - cpuBefore).TotalMilliseconds);
    }

    private async Task<EditSample> MeasureEditAsync(EditKind kind, EditContext context, int repeat, AdsClient gateway, AdsClient sidecar, CancellationToken cancellationToken)
    {
        var (fromG, fromS) = (gateway.Count, sidecar.Count);
        var started = Stopwatch.GetTimestamp();
        context.Watch = value =>
        {
            gateway.Watch(value);
            sidecar.Watch(value);
            started = Stopwatch.GetTimestamp();
        };
        var marker = await kind.Apply(context, repeat);
        double? pushMs = null;
        double? ackMs = null;
        var timedOut = false;
        if (kind.Expect is { } expected)
        {
            var push = await gateway.WaitForAsync(fromG, r => r.Type == expected && r.Markers.Contains(marker), settings.PushTimeout, cancellationToken);
            if (push is null)
            {
                timedOut = true;
            }
            else
            {
                (pushMs, ackMs) = (Ms(started, push.Received), Ms(started, push.Acked));
                await gateway.WaitQuietAsync(Quiet, TimeSpan.FromSeconds(5), cancellationToken);
                await sidecar.WaitQuietAsync(Quiet, TimeSpan.FromSeconds(5), cancellationToken);
            }
        }
        else
        {
            await Task.Delay(settings.NoPushWindow, cancellationToken);
        }

        var left = MinSpacing - Stopwatch.GetElapsedTime(started);
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left, cancellationToken);
        }

        var (atGateway, atSidecar) = (gateway.Since(fromG), sidecar.Since(fromS));
        if (settings.EditLog)
        {
            static string Responses(IReadOnlyList<ReceivedResponse> responses, long from) =>
                string.Join(", ", responses.Select(r => $"{r.Type} {r.Bytes / 1024.0:0.#} KiB at {Ms(from, r.Received):0} ms (ACK {Ms(r.Received, r.Acked):0} ms later)"));
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  edit {kind.Name} #{repeat} at {DateTime.UtcNow - Stopwatch.GetElapsedTime(started):HH:mm:ss.fff} UTC: push {pushMs?.ToString("0", CultureInfo.InvariantCulture) ?? "none"} ms; gateway [{Responses(atGateway, started)}]; sidecar [{Responses(atSidecar, started)}]"));
        }

        return new EditSample(pushMs, ackMs, timedOut, ByType(atGateway), atGateway.Sum(r => (long)r.Bytes), ByType(atSidecar), atSidecar.Sum(r => (long)r.Bytes));
    }

    private async Task<ChurnResult> ChurnAsync(EditContext context, ServerUnderTest server, CancellationToken cancellationToken)
    {
        var kinds = EditKind.All.Where(k => !k.IsHeartbeat).ToList();
        var heartbeat = EditKind.All.First(k => k.IsHeartbeat);
        var rss = new List<long> { server.Memory("VmRSS") };
        var clock = Stopwatch.StartNew();
        var (edits, nextSample, nextHeartbeat) = (0, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        progress.WriteLine($"churn: mixed edits for {settings.ChurnMinutes} minutes, RSS every 10 s");
        while (clock.Elapsed < TimeSpan.FromMinutes(settings.ChurnMinutes))
        {
            await kinds[edits % kinds.Count].Apply(context, edits / kinds.Count);
            edits++;
            if (clock.Elapsed >= nextHeartbeat)
            {
                await heartbeat.Apply(context, 0);
                nextHeartbeat += TimeSpan.FromSeconds(10);
            }

            if (clock.Elapsed >= nextSample)
            {
                rss.Add(server.Memory("VmRSS"));
                nextSample += TimeSpan.FromSeconds(10);
                progress.WriteLine($"churn: {clock.Elapsed.TotalMinutes:0.0} min, {edits} edits, RSS {rss[^1] / 1048576.0:0} MiB");
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        return new ChurnResult(settings.ChurnMinutes, edits, rss);
    }

    private static Dictionary<string, int> ByType(IReadOnlyList<ReceivedResponse> responses) =>
        responses.GroupBy(r => r.Type).ToDictionary(g => g.Key, g => g.Count());

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}
