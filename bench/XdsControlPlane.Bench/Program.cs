// xDS fan-out benchmark. Usage:
//   dotnet run -c Release --project bench/XdsControlPlane.Bench -- [--streams 100,1000,5000] [--repeat 3]
// For each N it measures, for our server and for the wire baseline in the same run:
//   * converge: time from publishing a new snapshot (50 listeners, 50 route configurations, 50 clusters,
//     200 endpoints, all changed) until all N Envoy-like streams have ACKed it;
//   * memory per idle stream: managed heap growth of this (server) process per connected, synced stream.
// The clients run in a child process (this program with --client) so their memory is not counted. Each cell is the
// median of --repeat runs, baseline and ours alternating.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using XdsControlPlane.Bench;
using XdsControlPlane.Xds;

if (args is ["--client", var portText, var streamsText])
{
    return await EnvoyLikeClients.RunAsync(int.Parse(portText, CultureInfo.InvariantCulture), int.Parse(streamsText, CultureInfo.InvariantCulture));
}

var counts = Option("--streams")?.Split(',').Select(n => int.Parse(n, CultureInfo.InvariantCulture)).ToArray() ?? [100, 1000, 5000];
var repeat = int.Parse(Option("--repeat") ?? "3", CultureInfo.InvariantCulture);
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
Console.WriteLine("| streams | ours: converge | baseline: converge | ratio | ours: KiB/idle stream | baseline: KiB/idle stream |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
foreach (var streams in counts)
{
    var baseRuns = new List<(TimeSpan Converge, double Memory)>();
    var oursRuns = new List<(TimeSpan Converge, double Memory)>();
    for (var run = 0; run < repeat; run++)
    {
        baseRuns.Add(await MeasureAsync(streams, baselinePort, Publish: snapshot => baseline.Publish(snapshot),
            Synced: () => baseline.Acks >= 4 * streams, Gone: () => baseline.Streams == 0));
        oursRuns.Add(await MeasureAsync(streams, oursPort, Publish: snapshot => cache.SetSnapshot(Group, snapshot),
            Synced: () => registry.AllAcked(Group, cache.GetSnapshot(Group)!.Snapshot.Version, out var n) && n == streams, Gone: () => registry.Clients.Count == 0));
    }

    var (baseConverge, baseMemory) = (Median(baseRuns.Select(r => r.Converge)), Median(baseRuns.Select(r => r.Memory)));
    var (oursConverge, oursMemory) = (Median(oursRuns.Select(r => r.Converge)), Median(oursRuns.Select(r => r.Memory)));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {streams} | {Ms(oursConverge)} | {Ms(baseConverge)} | {oursConverge / baseConverge:0.00}× | {oursMemory / 1024:0.0} | {baseMemory / 1024:0.0} |"));
}

await app.StopAsync();
await baselineApp.StopAsync();
return 0;

async Task<(TimeSpan Converge, double BytesPerStream)> MeasureAsync(int streams, int port, Action<Snapshot> Publish, Func<bool> Synced, Func<bool> Gone)
{
    Publish(BenchSnapshot.Create(++generation));
    var before = GC.GetTotalMemory(forceFullCollection: true);
    using var clients = StartClients(port, streams);
    await WaitAsync(Synced, "initial sync");
    var bytesPerStream = (GC.GetTotalMemory(forceFullCollection: true) - before) / (double)streams;

    var next = BenchSnapshot.Create(++generation);
    var watch = Stopwatch.StartNew();
    Publish(next);
    await WaitAsync(Synced, "convergence");
    var converge = watch.Elapsed;

    clients.StandardInput.Close();
    await clients.WaitForExitAsync();
    await WaitAsync(Gone, "disconnect");
    return (converge, bytesPerStream);
}

Process StartClients(int port, int streams)
{
    var self = Environment.ProcessPath!;
    var arguments = $"--client {port} {streams}";
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

static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms";
