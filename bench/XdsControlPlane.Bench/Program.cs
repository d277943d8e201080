// xDS fan-out benchmark. Usage:
//   dotnet run -c Release --project bench/XdsControlPlane.Bench -- [--streams 100,1000,5000] [--repeat 3]
//       [--protocol sotw|delta|both] [--verbose]
// For each protocol (State of the World and Delta ADS; default both) and each N it measures, for our server and for the wire baseline in the same run:
//   * converge: time from publishing a new snapshot (50 listeners, 50 route configurations, 50 clusters,
//     200 endpoints, all changed) until all N Envoy-like streams have ACKed it;
//   * memory per idle stream: managed heap growth of this (server) process per connected, synced stream;
//   * server CPU: processor time this (server) process used during convergence, a noise-free view of our cost.
// The clients run in a child process (this program with --client) so their memory is not counted. Each cell is the
// median of --repeat runs after one unmeasured warm-up run, baseline and ours alternating; converge times show the spread (min–max) when repeated.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using XdsControlPlane.Bench;
using XdsControlPlane.Xds;

if (args is ["--client", var portText, var streamsText, var protocolText])
{
    return await EnvoyLikeClients.RunAsync(int.Parse(portText, CultureInfo.InvariantCulture), int.Parse(streamsText, CultureInfo.InvariantCulture), Enum.Parse<BenchProtocol>(protocolText));
}

var counts = Option("--streams")?.Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToArray() ?? [100, 1000, 5000];
var repeat = int.Parse(Option("--repeat") ?? "3", CultureInfo.InvariantCulture);
BenchProtocol[] protocols = (Option("--protocol") ?? "both") switch
{
    "sotw" => [BenchProtocol.Sotw],
    "delta" => [BenchProtocol.Delta],
    "both" => [BenchProtocol.Sotw, BenchProtocol.Delta],
    var other => throw new ArgumentException($"--protocol {other}: expected sotw, delta or both"),
};
var verbose = args.Contains("--verbose"); // every run, with the JIT time and GCs it contained
var timeout = TimeSpan.FromSeconds(120);
const string Group = "sidecar/bench";

var baseline = new WireBaseline();
var ours = WebApplication.CreateSlimBuilder();
ours.Logging.ClearProviders();
ListenOptions? oursListener = null;
ours.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
    kestrel.Listen(IPAddress.Loopback, 0, l => { l.Protocols = HttpProtocols.Http2; oursListener = l; });
});
ours.Services.AddSingleton<INodeGroupResolver>(new OneGroup(Group));
ours.Services.AddXdsServer(options => options.MaxStreamAge = Timeout.InfiniteTimeSpan);
var app = ours.Build();
app.MapXdsServices();
await app.StartAsync();
var oursPort = oursListener!.IPEndPoint!.Port;

// The baseline on its own host, same Kestrel limits.
var baselineHost = WebApplication.CreateSlimBuilder();
baselineHost.Logging.ClearProviders();
ListenOptions? baselineOnly = null;
baselineHost.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
    kestrel.Listen(IPAddress.Loopback, 0, l => { l.Protocols = HttpProtocols.Http2; baselineOnly = l; });
});
baselineHost.Services.AddGrpc(o => o.MaxReceiveMessageSize = null);
baselineHost.Services.AddSingleton(baseline);
var baselineApp = baselineHost.Build();
baselineApp.MapGrpcService<WireBaseline>();
await baselineApp.StartAsync();
var baselinePort = baselineOnly!.IPEndPoint!.Port;

var cache = app.Services.GetRequiredService<SnapshotCache>();
var registry = app.Services.GetRequiredService<ClientRegistry>();
var generation = 0;

Console.WriteLine($"xDS fan-out benchmark — {Environment.ProcessorCount} cores, .NET {Environment.Version}, snapshot: 50 LDS, 50 RDS, 50 CDS, 200 endpoints in 50 EDS");
Console.WriteLine();
Console.WriteLine("| protocol | streams | ours: converge | baseline: converge | ratio | ours: server CPU | baseline: server CPU | ours: KiB/idle stream | baseline: KiB/idle stream |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
foreach (var (protocol, streams) in protocols.SelectMany(p => counts.Select(n => (p, n))))
{
    var baseRuns = new List<Run>();
    var oursRuns = new List<Run>();
    for (var run = -1; run < repeat; run++) // run -1 warms up (JIT, tiering, thread pool) and is not counted
    {
        var baseRun = await MeasureAsync(protocol, streams, baselinePort, Publish: snapshot => baseline.Publish(snapshot),
            Synced: () => baseline.Acks >= 4 * streams, Gone: () => baseline.Streams == 0);
        var oursRun = await MeasureAsync(protocol, streams, oursPort, Publish: snapshot => cache.SetSnapshot(Group, snapshot),
            Synced: () => registry.AllAcked(Group, cache.GetSnapshot(Group)!.Snapshot.Version, out var n) && n == streams, Gone: () => registry.Clients.Count == 0);
        if (run >= 0)
        {
            baseRuns.Add(baseRun);
            oursRuns.Add(oursRun);
        }
    }

    var (baseConverge, oursConverge) = (Median(baseRuns.Select(r => r.Converge)), Median(oursRuns.Select(r => r.Converge)));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {Name(protocol)} | {streams} | {Converge(oursRuns)} | {Converge(baseRuns)} | {oursConverge / baseConverge:0.00}× | {Ms(Median(oursRuns.Select(r => r.ServerCpu)))} | {Ms(Median(baseRuns.Select(r => r.ServerCpu)))} | {Median(oursRuns.Select(r => r.BytesPerStream)) / 1024:0.0} | {Median(baseRuns.Select(r => r.BytesPerStream)) / 1024:0.0} |"));
}

await app.StopAsync();
await baselineApp.StopAsync();
return 0;

async Task<Run> MeasureAsync(BenchProtocol protocol, int streams, int port, Action<Snapshot> Publish, Func<bool> Synced, Func<bool> Gone)
{
    Publish(BenchSnapshot.Create(++generation));
    var before = GC.GetTotalMemory(forceFullCollection: true);
    using var clients = StartClients(protocol, port, streams);
    await WaitAsync(Synced, "initial sync");
    var bytesPerStream = (GC.GetTotalMemory(forceFullCollection: true) - before) / (double)streams;

    var next = BenchSnapshot.Create(++generation);
    var cpu = Environment.CpuUsage.TotalTime;
    var (jitTime, collections) = (JitInfo.GetCompilationTime(), GC.CollectionCount(0));
    var watch = Stopwatch.StartNew();
    Publish(next);
    await WaitAsync(Synced, "convergence");
    var converge = watch.Elapsed;
    var serverCpu = Environment.CpuUsage.TotalTime - cpu;
    if (verbose)
    {
        var jitted = JitInfo.GetCompilationTime() - jitTime;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {(port == baselinePort ? "baseline" : "ours")}, {Name(protocol)}, {streams} streams: converge {converge.TotalMilliseconds:0} ms, server CPU {serverCpu.TotalMilliseconds:0} ms, JIT {jitted.TotalMilliseconds:0} ms, GCs {GC.CollectionCount(0) - collections}"));
    }

    clients.StandardInput.Close();
    await clients.WaitForExitAsync();
    await WaitAsync(Gone, "disconnect");
    return new Run(converge, serverCpu, bytesPerStream);
}

Process StartClients(BenchProtocol protocol, int port, int streams)
{
    var self = Environment.ProcessPath!;
    var arguments = $"--client {port} {streams} {protocol}";
    if (Path.GetFileNameWithoutExtension(self) == "dotnet")
    {
        arguments = $"\"{typeof(WireBaseline).Assembly.Location}\" {arguments}";
    }

    var process = Process.Start(new ProcessStartInfo(self, arguments) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false })!;
    _ = process.StandardOutput.ReadLine(); // "started"
    return process;
}

async Task WaitAsync(Func<bool> condition, string what)
{
    var deadline = Stopwatch.StartNew();
    while (!condition())
    {
        if (deadline.Elapsed > timeout)
        {
            throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds} s");
        }

        await Task.Delay(5);
    }
}

string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();

static T Median<T>(IEnumerable<T> values) => values.Order().ElementAt(values.Count() / 2);

static string Converge(IReadOnlyList<Run> runs) =>
    runs.Count < 3 ? Ms(Median(runs.Select(r => r.Converge)))
    : $"{Ms(Median(runs.Select(r => r.Converge)))} ({runs.Min(r => r.Converge).TotalMilliseconds:0}–{runs.Max(r => r.Converge).TotalMilliseconds:0})";

static string Name(BenchProtocol protocol) => protocol == BenchProtocol.Delta ? "Delta" : "SotW";

static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";

/// <summary>One measurement: time to converge, server processor time meanwhile, managed bytes per idle stream.</summary>
internal readonly record struct Run(TimeSpan Converge, TimeSpan ServerCpu, double BytesPerStream);

/// <summary>Every bench client in one node group.</summary>
internal sealed class OneGroup(string group) : INodeGroupResolver
{
    public string GroupOf(Envoy.Config.Core.V3.Node node) => group;
}
