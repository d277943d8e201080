// Admin endpoint load benchmark. Usage (build the server first: dotnet build -c Release src/XdsControlPlane.Server):
//   dotnet run -c Release --project bench/XdsControlPlane.AdminBench -- [--services 1000] [--concurrency 8] [--seconds 30]
//       [--server path/to/XdsControlPlane.Server.dll]
// Generates a manifest directory (Services with two ports, EndpointSlices, RouteGroups), starts the server on it as a
// child process (loopback, free ports), and then, for --seconds, keeps --concurrency clients requesting
// /debug/snapshot (each reads the whole answer; a 429 is retried after its Retry-After) while one more client asks
// /healthz every 100 ms. Reports the size of one answer, answers served and refused, /healthz latency idle and under
// load, and the server's resident memory: before the load, the highest sampled during it, and VmHWM (peak of the
// process's life). Linux only (reads /proc/<pid>/status).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using XdsControlPlane.AdminBench;
using XdsControlPlane.Benchmarks;
using XdsControlPlane.Testing;

var services = int.Parse(Option("--services") ?? "1000", CultureInfo.InvariantCulture);
var concurrency = int.Parse(Option("--concurrency") ?? "8", CultureInfo.InvariantCulture);
var seconds = int.Parse(Option("--seconds") ?? "30", CultureInfo.InvariantCulture);
var serverDll = Option("--server") ?? ServerBinary.Find();

var directory = Directory.CreateTempSubdirectory("admin-bench-").FullName;
ManifestGenerator.Write(directory, services);
var (xdsPort, adminPort) = (FreePort.Next(), FreePort.Next());
var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
foreach (var arg in new[] { serverDll, "--loopback", "--xds-port", I(xdsPort), "--admin-port", I(adminPort), "--tunnel-port", "0", "--manifests", directory, "--log-format", "json" })
{
    start.ArgumentList.Add(arg);
}

using var server = Process.Start(start)!;
_ = server.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
_ = server.StandardError.BaseStream.CopyToAsync(Stream.Null);
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{I(adminPort)}"), Timeout = TimeSpan.FromMinutes(5) };
try
{
    await WaitReadyAsync();
    var (answerBytes, resources) = await MeasureAnswerAsync();
    var idle = await ProbeAsync(TimeSpan.FromSeconds(3));
    GC.Collect();
    var rssBefore = ReadStatus("VmRSS");

    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
    var served = 0;
    var refused = 0;
    var peakSampled = rssBefore;
    var sampler = Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            peakSampled = Math.Max(peakSampled, ReadStatus("VmRSS"));
            await Task.Delay(100, CancellationToken.None);
        }
    });
    var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            using var response = await http.GetAsync(new Uri("/debug/snapshot", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Interlocked.Increment(ref refused);
                await Task.Delay(response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1), CancellationToken.None);
                continue;
            }

            response.EnsureSuccessStatusCode();
            await (await response.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null);
            Interlocked.Increment(ref served);
        }
    })).ToArray();
    var loaded = await ProbeAsync(TimeSpan.FromSeconds(seconds));
    await Task.WhenAll(workers);
    await sampler;
    var hwm = ReadStatus("VmHWM");

    Console.WriteLine($"admin bench — {Environment.ProcessorCount} cores, .NET {Environment.Version}, {services} Services: {resources} resources, /debug/snapshot {answerBytes / 1e6:0.0} MB");
    Console.WriteLine($"{concurrency} clients for {seconds} s: {served} answers served, {refused} refused (429)");
    Console.WriteLine();
    Console.WriteLine("| /healthz idle p50 / max | /healthz under load p50 / p99 / max | RSS before load | RSS peak under load (sampled) | VmHWM |");
    Console.WriteLine("|---:|---:|---:|---:|---:|");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {Ms(P(idle, 0.5))} / {Ms(idle.Max())} | {Ms(P(loaded, 0.5))} / {Ms(P(loaded, 0.99))} / {Ms(loaded.Max())} | {Mb(rssBefore)} | {Mb(peakSampled)} | {Mb(hwm)} |"));
    return 0;
}
finally
{
    server.Kill(entireProcessTree: true);
    await server.WaitForExitAsync();
    Directory.Delete(directory, recursive: true);
}

async Task WaitReadyAsync()
{
    var clock = Stopwatch.StartNew();
    while (true)
    {
        if (server.HasExited)
        {
            throw new InvalidOperationException($"the server exited with {server.ExitCode}");
        }

        try
        {
            using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
            if (ready.IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
            // not listening yet
        }

        if (clock.Elapsed > TimeSpan.FromMinutes(3))
        {
            throw new TimeoutException("the server was not ready within 3 minutes");
        }

        await Task.Delay(200);
    }
}

async Task<(long Bytes, int Resources)> MeasureAnswerAsync()
{
    var body = await http.GetByteArrayAsync(new Uri("/debug/snapshot", UriKind.Relative));
    using var document = JsonDocument.Parse(body);
    var count = document.RootElement.GetProperty("groups").EnumerateObject()
        .SelectMany(g => g.Value.GetProperty("resources").EnumerateObject())
        .Sum(t => t.Value.EnumerateObject().Count());
    return (body.LongLength, count);
}

// /healthz latencies (ms), one request every 100 ms for the given time.
async Task<List<double>> ProbeAsync(TimeSpan duration)
{
    var latencies = new List<double>();
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed < duration)
    {
        var one = Stopwatch.StartNew();
        using (var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            response.EnsureSuccessStatusCode();
        }

        latencies.Add(one.Elapsed.TotalMilliseconds);
        await Task.Delay(100);
    }

    return latencies;
}

long ReadStatus(string field)
{
    var line = File.ReadLines($"/proc/{I(server.Id)}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
}

string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();

static double P(List<double> values, double quantile) => values.Order().ElementAt((int)Math.Min(values.Count - 1, Math.Floor(quantile * values.Count)));

static string Ms(double ms) => ms.ToString(ms < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " ms";

static string Mb(long bytes) => (bytes / 1048576.0).ToString("0", CultureInfo.InvariantCulture) + " MiB";

static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
