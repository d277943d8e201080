// End-to-end control-loop benchmark. Usage (build the server first: dotnet build -c Release src/XdsControlPlane.Server):
//   dotnet run -c Release --project bench/XdsControlPlane.ControlLoopBench -- [--services 1000] [--routegroups 1000,10000]
//       [--source manifests|kubernetes|both] [--repeat 20] [--quick] [--churn-minutes 0] [--baseline-services 10]
//       [--baseline-routegroups 10] [--floor-seconds 10] [--timeout-seconds 30] [--server path/to/XdsControlPlane.Server.dll|publish-dir] [--json] [--edit-log] [--after-ready-only] [--server-env NAME=VALUE]…
//       [--scoped-routes off|on|both] [--scenario first-install|restart|both]
// --scenario restart (Kubernetes only) measures a restart of the control plane: a first server makes the Sandboxes'
// forks and is stopped, then the measured server starts on that state; both measures each N in both scenarios (the
// restart labelled "N restart"). The default, first-install, starts on Sandboxes whose forks do not exist yet.
// --scoped-routes both measures each N twice in the same run, without and with the server's --scoped-routes (the second
// labelled "N scoped"), so the bytes per RouteGroup change at the gateway compare.
// For each source and each N (and first a small baseline inventory, measured in the same run): generates the inventory,
// puts it in manifest files or in the fake Kubernetes API server, starts the server as a child process, connects a
// gateway and a sidecar ADS client (State of the World, ACK every response), measures startup, the idle floor, and
// every edit kind (see EditKind) --repeat times. Prints a markdown report (or JSON with --json); progress goes to stderr.
// Linux only (reads /proc/<pid>/stat and /status).
using System.Globalization;
using System.Text.Json;
using XdsControlPlane.ControlLoopBench;
using XdsControlPlane.Benchmarks;

var quick = args.Contains("--quick");
var services = int.Parse(Option("--services") ?? "1000", CultureInfo.InvariantCulture);
var routeGroups = (Option("--routegroups") ?? "1000,10000").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToList();
var sources = (Option("--source") ?? "both") switch
{
    "both" => new[] { "manifests", "kubernetes" },
    "manifests" => ["manifests"],
    "kubernetes" => ["kubernetes"],
    var other => throw new ArgumentException($"--source must be manifests, kubernetes or both, got '{other}'"),
};
var settings = new RunSettings(
    ServerBinary.Resolve(Option("--server")),
    int.Parse(Option("--repeat") ?? (quick ? "5" : "20"), CultureInfo.InvariantCulture),
    TimeSpan.FromSeconds(double.Parse(Option("--floor-seconds") ?? (quick ? "5" : "10"), CultureInfo.InvariantCulture)),
    TimeSpan.FromSeconds(double.Parse(Option("--timeout-seconds") ?? "30", CultureInfo.InvariantCulture)),
    TimeSpan.FromSeconds(2),
    double.Parse(Option("--churn-minutes") ?? "0", CultureInfo.InvariantCulture))
{
    EditLog = args.Contains("--edit-log"),
    AfterReadyOnly = args.Contains("--after-ready-only"),
    ServerEnvironment = args.Zip(args.Skip(1)).Where(p => p.First == "--server-env").Select(p => p.Second.Split('=', 2))
        .ToDictionary(p => p[0], p => p.Length == 2 ? p[1] : throw new ArgumentException($"--server-env takes NAME=VALUE, got '{p[0]}'"), StringComparer.Ordinal),
};
var scopedModes = (Option("--scoped-routes") ?? "off") switch
{
    "off" => new[] { false },
    "on" => [true],
    "both" => [false, true],
    var other => throw new ArgumentException($"--scoped-routes must be off, on or both, got '{other}'"),
};
var restartModes = (Option("--scenario") ?? "first-install") switch
{
    "first-install" => new[] { false },
    "restart" => [true],
    "both" => [false, true],
    var other => throw new ArgumentException($"--scenario must be first-install, restart or both, got '{other}'"),
};
var baselineServices = int.Parse(Option("--baseline-services") ?? "10", CultureInfo.InvariantCulture);
var baselineRouteGroups = int.Parse(Option("--baseline-routegroups") ?? "10", CultureInfo.InvariantCulture);

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
var runs = scopedModes.SelectMany(scoped => restartModes.Select(restart => (scoped, restart)))
    .ToDictionary(mode => mode, mode => new ControlLoopRun(settings with { ScopedRoutes = mode.scoped, Restart = mode.restart }, Console.Error));
var results = new List<RunResult>();
var started = DateTimeOffset.UtcNow;
var partial = Path.Combine(Path.GetTempPath(), "control-loop-bench.partial.md");
Console.Error.WriteLine($"the report so far is kept in {partial}");
Console.Error.WriteLine($"server: {settings.ServerDll} ({ServerBinary.Form(settings.ServerDll)})");
foreach (var source in sources)
{
    // The baseline runs the edits that expect a push (the ratios are of their latencies).
    var plan = new List<(string Label, int Services, int RouteGroups, bool AllKinds, bool Churn, bool Scoped, bool Restart)> { ("baseline", baselineServices, baselineRouteGroups, false, false, scopedModes[0], restartModes[0]) };
    plan.AddRange(routeGroups.SelectMany(n => scopedModes.SelectMany(scoped => restartModes.Select(restart =>
        (Label(n, scoped, restart), services, n, true, n == routeGroups.Max() && scoped == scopedModes[0] && restart == restartModes[0], scoped, restart)))));
    foreach (var (label, count, groups, allKinds, churn, scoped, restart) in plan)
    {
        await using IInventoryTarget target = source == "manifests" ? new ManifestDirectoryTarget() : new FakeClusterTarget();
        try
        {
            results.Add(await runs[(scoped, restart)].RunAsync(target, label, count, groups, allKinds, churn, cancel.Token));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or IOException)
        {
            Console.Error.WriteLine($"[{source} {label}] failed: {e.Message}");
        }

        // What is measured so far survives a crash or Ctrl+C later in the run.
        await File.WriteAllTextAsync(partial, MarkdownReport.Render(Header(), results), CancellationToken.None);
    }
}

var header = Header();
if (args.Contains("--json"))
{
    Console.WriteLine(JsonSerializer.Serialize(new { header, results }, new JsonSerializerOptions { WriteIndented = true }));
}
else
{
    Console.Write(MarkdownReport.Render(header, results));
}

return results.Count == sources.Length * ((routeGroups.Count * scopedModes.Length * restartModes.Length) + 1) && results.All(r => r.Failure is null) ? 0 : 1;

ReportHeader Header() => new(started, DateTimeOffset.UtcNow, Environment.ProcessorCount, Environment.Version.ToString(), $"{settings.ServerDll} ({ServerBinary.Form(settings.ServerDll)})", settings.Repeat, quick);

string Label(int n, bool scoped, bool restart) =>
    n.ToString(CultureInfo.InvariantCulture) + (scoped && scopedModes.Length > 1 ? " scoped" : "") + (restart && restartModes.Length > 1 ? " restart" : "");

string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
