// Local-connect tunnel benchmark. Usage (build the server first: dotnet build -c Release src/XdsControlPlane.Server):
//   dotnet run -c Release --project bench/XdsControlPlane.TunnelBench -- [--quick] [--server path/to/XdsControlPlane.Server.dll] [--out report.md]
//       [--agent-window KiB] [--agent-max-data KiB]   (the agent's receive window and largest Data frame, default the
//       multiplexer's 256 KiB and 32 KiB: to see whether they bound throughput; the broker keeps its own)
// Starts the server as a child process in manifests mode (one Service `bench`, tcp port 9000) with its tunnel broker,
// connects an agent (the real multiplexer) in this process whose local port is a loopback sink/echo service, and
// measures throughput of 1 and of 100 parallel connections each way, 1 KiB round-trip latency and memory per idle
// connection, each through the broker and directly to the same service in the same run. Prints a Markdown table
// (progress goes to stderr). Linux only (reads /proc/<pid>/status). Exits 1 when the run failed or the server logged
// a warning or error.
using System.Globalization;
using XdsControlPlane.Benchmarks;
using XdsControlPlane.TunnelBench;

var quick = args.Contains("--quick");
var settings = BenchSettings.For(Option("--server") ?? ServerBinary.Find(), quick);
if (Option("--agent-window") is { } window)
{
    settings = settings with { AgentLimits = settings.AgentLimits with { ReceiveWindow = int.Parse(window, CultureInfo.InvariantCulture) * 1024 } };
}

if (Option("--agent-max-data") is { } maxData)
{
    settings = settings with { AgentLimits = settings.AgentLimits with { MaxData = int.Parse(maxData, CultureInfo.InvariantCulture) * 1024 } };
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var results = await new TunnelBenchRun(settings, Console.Error).RunAsync(cancel.Token);
var command = "dotnet run -c Release --project bench/XdsControlPlane.TunnelBench --" + (args.Length > 0 ? " " + string.Join(' ', args) : "");
var report = MarkdownReport.Render(results, settings, command);
Console.Write(report);
if (Option("--out") is { } file)
{
    await File.WriteAllTextAsync(file, report, CancellationToken.None);
}

foreach (var problem in results.BrokerProblems)
{
    Console.Error.WriteLine($"server: {problem}");
}

return results.BrokerProblems.Count == 0 ? 0 : 1;

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
