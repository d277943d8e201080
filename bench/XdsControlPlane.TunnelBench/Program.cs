// Local-connect tunnel benchmark. Usage (build the server first: dotnet build -c Release src/XdsControlPlane.Server;
// needs iperf3, and openssh-server for the ssh -L baseline: apt-get install -y iperf3 openssh-server):
//   dotnet run -c Release --project bench/XdsControlPlane.TunnelBench -- [--quick] [--server path/to/XdsControlPlane.Server.dll] [--out report.md]
//       [--repeat N] [--seconds S]   (repetitions of each throughput case, default 3; seconds per iperf3 run, default 5)
//       [--agent-window KiB] [--agent-max-data KiB]   (the agent's receive window and largest Data frame, default the
//       multiplexer's 1 MiB and 65,504 bytes: to see whether they bound throughput; the broker keeps its own)
//       [--agent-lanes N]   (lanes the agent opens besides its stream when the broker offers them, default 3; 0: one stream)
//       [--agent-cork on|off]   (whether the agent holds each burst of Data frames together with TCP_CORK, default on as sandboxctl)
//       [--agent-raw-lanes on|off]   (whether the agent's lanes go as raw lanes, plain TCP, when the broker offers them, default on as sandboxctl)
//       [--raw-lane-probe]   (also measure each case over RawLaneProbe: frames over plain TCP lanes, the ceiling of a raw-lane tunnel)
// Starts the server as a child process in manifests mode (one Service `bench`, tcp ports 9000 and 9001) with its tunnel
// broker, connects an agent (the real multiplexer and channel settings) in this process whose local ports are a loopback
// echo/idle service (9000) and iperf3 -s (9001), and measures iperf3 throughput with 1 and 8 streams each way over three
// paths in the same run — direct, through the broker, through ssh -L to a private sshd on loopback —, 1 KiB round-trip
// latency and memory per idle connection. Prints a Markdown table (progress goes to stderr). Linux only (reads
// /proc/<pid>/status). Exits 1 when the run failed or the server logged a warning or error.
using System.Globalization;
using XdsControlPlane.Benchmarks;
using XdsControlPlane.TunnelBench;

var quick = args.Contains("--quick");
var settings = BenchSettings.For(Option("--server") ?? ServerBinary.Find(), quick);
if (Option("--repeat") is { } repeat)
{
    settings = settings with { Repeat = int.Parse(repeat, CultureInfo.InvariantCulture) };
}

if (Option("--seconds") is { } seconds)
{
    settings = settings with { Seconds = int.Parse(seconds, CultureInfo.InvariantCulture) };
}

if (Option("--agent-window") is { } window)
{
    settings = settings with { AgentLimits = settings.AgentLimits with { ReceiveWindow = int.Parse(window, CultureInfo.InvariantCulture) * 1024 } };
}

if (Option("--agent-max-data") is { } maxData)
{
    settings = settings with { AgentLimits = settings.AgentLimits with { MaxData = int.Parse(maxData, CultureInfo.InvariantCulture) * 1024 } };
}

if (Option("--agent-lanes") is { } lanes)
{
    settings = settings with { AgentLimits = settings.AgentLimits with { MaxLanes = int.Parse(lanes, CultureInfo.InvariantCulture) } };
}

if (OnOff("--agent-cork") is { } cork)
{
    settings = settings with { AgentCork = cork };
}

if (OnOff("--agent-raw-lanes") is { } rawLanes)
{
    settings = settings with { AgentRawLanes = rawLanes };
}

if (args.Contains("--raw-lane-probe"))
{
    settings = settings with { RawLaneProbe = true };
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

bool? OnOff(string name) => Option(name) switch
{
    null => null,
    "on" => true,
    "off" => false,
    var other => throw new ArgumentException($"{name} takes on or off, not '{other}'"),
};

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
