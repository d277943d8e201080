// Preview authorization benchmark. Usage:
//   dotnet run -c Release --project bench/XdsControlPlane.PreviewAuthzBench -- [--seconds 5] [--warmup 2] [--concurrency 1,16,64]
// Starts, in this process, the control plane (ServerHost, manifests mode: examples/shop and one PreviewGrant) and an
// "empty" gRPC server whose envoy.service.auth.v3.Authorization allows everything, both on loopback over h2c. For each
// concurrency, callers (one HTTP/2 connection shared, as Envoy's ext_authz cluster does) send the same CheckRequest — a
// browser's GET of a shared preview carrying the session cookie a first visit set — for --seconds to each service in
// turn (empty, preview, preview, empty, pooled), and report decisions per second, p50 (mean of the two runs) and p99 (the worse run), and the control plane's throughput as a fraction of the empty
// service's. The control plane writes its access-log line per decision (console output is discarded here).
using System.Diagnostics;
using System.Globalization;
using Envoy.Service.Auth.V3;
using Grpc.Core;
using Grpc.Net.Client;
using Serilog;
using XdsControlPlane.Model;
using XdsControlPlane.Server;
using XdsControlPlane.Testing;

var seconds = double.Parse(Option("--seconds") ?? "5", CultureInfo.InvariantCulture);
var warmup = double.Parse(Option("--warmup") ?? "2", CultureInfo.InvariantCulture);
var levels = (Option("--concurrency") ?? "1,16,64").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();

var repo = RepoRoot();
var directory = Directory.CreateTempSubdirectory("preview-authz-bench-").FullName;
foreach (var file in new[] { "services.yaml", "endpointslices.yaml", "routing.yaml" })
{
    File.Copy(Path.Combine(repo, "examples", "shop", file), Path.Combine(directory, file));
}

var token = PreviewToken.Create();
File.WriteAllText(Path.Combine(directory, "grant.yaml"), $"""
    apiVersion: sandboxctl.io/v1alpha1
    kind: PreviewGrant
    metadata: {"{"}name: bench, namespace: shop{"}"}
    spec:
      sandbox: feature-x
      secretHash: {PreviewToken.Hash(token)}
      expiresAt: {PreviewGrant.FormatTimestamp(DateTimeOffset.UtcNow.AddDays(1))}
    """);

// The access log goes to the console: keep its cost (formatting, the sink), drop the output.
Console.Out.Flush();
var stdout = Console.Out;
Console.SetOut(TextWriter.Null);

var settings = new Dictionary<string, string?>
{
    ["Xds:Port"] = "0", ["Admin:Port"] = "0", ["Tunnel:Port"] = "0", ["Tunnel:ListenPortCount"] = "0", ["Webhook:Port"] = "0",
    ["Server:Loopback"] = "true", ["Manifests:Directory"] = directory,

    // Previews on: without a preview domain the server makes no session key, and no cookie could be checked.
    ["Translation:PreviewDomain"] = "preview.example.com", ["Translation:PreviewSalt"] = "bench",
};
await using var host = ServerHost.Create(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
await host.StartAsync(CancellationToken.None);

var emptyPort = FreePort.Next();
var empty = WebApplication.CreateSlimBuilder();
empty.Logging.ClearProviders();
empty.WebHost.ConfigureKestrel(k =>
{
    // As the control plane's Kestrel: the same HTTP/2 windows, loopback, h2c.
    k.Limits.Http2.InitialStreamWindowSize = XdsControlPlane.Tunnel.TunnelHttp2.StreamWindow;
    k.Limits.Http2.InitialConnectionWindowSize = XdsControlPlane.Tunnel.TunnelHttp2.ConnectionWindow;
    k.Listen(System.Net.IPAddress.Loopback, emptyPort, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
});
empty.Services.AddGrpc();
await using var emptyApp = empty.Build();
emptyApp.MapGrpcService<AlwaysAllow>();
await emptyApp.StartAsync();

using var controlPlane = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
using var baseline = GrpcChannel.ForAddress($"http://127.0.0.1:{emptyPort}");
var preview = new Authorization.AuthorizationClient(controlPlane);
var allowAll = new Authorization.AuthorizationClient(baseline);

// The grant is read, then a first visit sets the session cookie the measured requests carry.
var host0 = PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-x", "cart", 8080, "bench", "preview.example.com");
string? cookie = null;
for (var tries = 0; cookie is null && tries < 200; tries++)
{
    var first = await preview.CheckAsync(Request(host0, "/?token=" + token, null));
    cookie = first.DeniedResponse?.Headers.FirstOrDefault(h => h.Header.Key == "set-cookie")?.Header.Value.Split("; ")[0];
    if (cookie is null)
    {
        await Task.Delay(50);
    }
}

Console.SetOut(stdout);
if (cookie is null)
{
    Console.Error.WriteLine("the control plane never read the grant");
    return 1;
}

var request = Request(host0, "/api/cart?page=2", cookie);
var check = await preview.CheckAsync(request);
if (check.HttpResponseCase != CheckResponse.HttpResponseOneofCase.OkResponse)
{
    Console.Error.WriteLine($"the measured request is not allowed: {check.Status.Message}");
    return 1;
}

Console.SetOut(TextWriter.Null);
var results = new List<string>();
foreach (var callers in levels)
{
    // Alternated twice (empty, preview, preview, empty) so drift on a shared machine falls on both alike; the runs are pooled.
    var e1 = await MeasureAsync(allowAll, request, callers);
    var p1 = await MeasureAsync(preview, request, callers);
    var p2 = await MeasureAsync(preview, request, callers);
    var e2 = await MeasureAsync(allowAll, request, callers);
    var measuredEmpty = ((e1.PerSecond + e2.PerSecond) / 2, (e1.P50 + e2.P50) / 2, Math.Max(e1.P99, e2.P99), (e1.CpuMicros + e2.CpuMicros) / 2);
    var measuredPreview = ((p1.PerSecond + p2.PerSecond) / 2, (p1.P50 + p2.P50) / 2, Math.Max(p1.P99, p2.P99), (p1.CpuMicros + p2.CpuMicros) / 2);
    results.Add(string.Create(CultureInfo.InvariantCulture,
        $"| {callers,3} | {measuredEmpty.Item1,10:F0} | {measuredEmpty.Item2,7:F3} | {measuredEmpty.Item3,7:F3} | {measuredEmpty.Item4,6:F1} | {measuredPreview.Item1,10:F0} | {measuredPreview.Item2,7:F3} | {measuredPreview.Item3,7:F3} | {measuredPreview.Item4,6:F1} | {measuredPreview.Item1 / measuredEmpty.Item1,5:F2} |"));
}

Console.SetOut(stdout);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"preview authorization, {seconds}s per run after {warmup}s warm-up, {Environment.ProcessorCount} cores, one HTTP/2 connection per service"));
Console.WriteLine("| callers | empty /s | p50 ms | p99 ms | CPU µs/call | preview /s | p50 ms | p99 ms | CPU µs/call | ratio |");
Console.WriteLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
results.ForEach(Console.WriteLine);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"(CPU µs/call: this process's CPU time — client, server and both services — over the calls of a run; the difference is what a decision costs beyond an empty answer.) The access-log line alone: {AccessLogLineMicros()} CPU"));
await emptyApp.StopAsync();
Directory.Delete(directory, recursive: true);
return 0;

async Task<(double PerSecond, double P50, double P99, double CpuMicros)> MeasureAsync(Authorization.AuthorizationClient client, CheckRequest request, int callers)
{
    await RunAsync(client, request, callers, TimeSpan.FromSeconds(warmup), null);
    var latencies = new List<double>[callers];
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var elapsed = Stopwatch.StartNew();
    await RunAsync(client, request, callers, TimeSpan.FromSeconds(seconds), latencies);
    var total = elapsed.Elapsed.TotalSeconds;
    var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
    var all = latencies.SelectMany(l => l).Order().ToArray();
    return (all.Length / total, all[(int)(all.Length * 0.50)], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))], used.TotalMicroseconds / all.Length);
}

// The CPU time of one access-log line as the control plane's logging writes it — Serilog on the console, the plain
// template (the server's default) or compact JSON (the chart's) — the output discarded, one thread.
string AccessLogLineMicros()
{
    var stdoutNow = Console.Out;
    Console.SetOut(TextWriter.Null);
    try
    {
        var plain = LineMicros(new Serilog.LoggerConfiguration().WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}"));
        var json = LineMicros(new Serilog.LoggerConfiguration().WriteTo.Console(new Serilog.Formatting.Compact.CompactJsonFormatter()));
        return string.Create(CultureInfo.InvariantCulture, $"{plain:F2} µs plain, {json:F2} µs JSON");
    }
    finally
    {
        Console.SetOut(stdoutNow);
    }
}

double LineMicros(Serilog.LoggerConfiguration configuration)
{
    using var factory = new Serilog.Extensions.Logging.SerilogLoggerFactory(configuration.MinimumLevel.Information().Enrich.FromLogContext().CreateLogger(), dispose: true);
    var logger = factory.CreateLogger("XdsControlPlane.Server.Previews.PreviewAuthorizationService");
    const int Lines = 50_000;
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    for (var i = 0; i < Lines; i++)
    {
#pragma warning disable CA1848, CA2254 // the same template and arguments as PreviewAccessLog.Decided, through the public API
        logger.LogInformation(new EventId(7340, "Decided"), "Preview {Host} {Method}: {Decision} ({Reason}); subject {Subject} created by {Creator}; from {Source}", host0, "GET", "allow", "session", "shop/bench", "-", "172.17.0.1:61402");
#pragma warning restore CA1848, CA2254
    }

    return (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / Lines;
}

static async Task RunAsync(Authorization.AuthorizationClient client, CheckRequest request, int callers, TimeSpan duration, List<double>[]? latencies)
{
    using var stop = new CancellationTokenSource(duration);
    await Task.WhenAll(Enumerable.Range(0, callers).Select(i => Task.Run(async () =>
    {
        var mine = new List<double>(1 << 16);
        while (!stop.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            await client.CheckAsync(request);
            mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        if (latencies is not null)
        {
            latencies[i] = mine;
        }
    })));
}

static CheckRequest Request(string host, string path, string? cookie)
{
    var http = new AttributeContext.Types.HttpRequest { Id = "13519049518330544501", Method = "GET", Path = path, Host = host, Scheme = "https", Protocol = "HTTP/2" };
    http.Headers[":authority"] = host;
    http.Headers[":method"] = "GET";
    http.Headers[":path"] = path;
    http.Headers[":scheme"] = "https";
    http.Headers["accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    http.Headers["user-agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    http.Headers["x-forwarded-proto"] = "https";
    http.Headers["x-request-id"] = "7bca5c86-bf55-432c-b212-8c0f1dc999ec";
    if (cookie is not null)
    {
        http.Headers["cookie"] = "theme=dark; " + cookie;
    }

    var request = new CheckRequest
    {
        Attributes = new AttributeContext
        {
            Source = new AttributeContext.Types.Peer { Address = new Envoy.Config.Core.V3.Address { SocketAddress = new Envoy.Config.Core.V3.SocketAddress { Address = "172.17.0.1", PortValue = 61402 } } },
            Request = new AttributeContext.Types.Request { Http = http },
        },
    };
    var context = request.Attributes.ContextExtensions;
    context[PreviewAuthorizationContext.OwnerKind] = Sandbox.KindName;
    context[PreviewAuthorizationContext.Namespace] = "shop";
    context[PreviewAuthorizationContext.OwnerName] = "feature-x";
    context[PreviewAuthorizationContext.Service] = "cart";
    context[PreviewAuthorizationContext.Port] = "8080";
    context[PreviewAuthorizationContext.Access] = Preview.Shared;
    context[PreviewAuthorizationContext.Host] = host;
    return request;
}

static string RepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "XdsControlPlane.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("XdsControlPlane.sln not found above " + AppContext.BaseDirectory);
}

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

/// <summary>The empty service: every request allowed, nothing read.</summary>
internal sealed class AlwaysAllow : Authorization.AuthorizationBase
{
    private static readonly CheckResponse Allowed = new() { Status = new Google.Rpc.Status { Code = 0 }, OkResponse = new OkHttpResponse() };

    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context) => Task.FromResult(Allowed);
}
