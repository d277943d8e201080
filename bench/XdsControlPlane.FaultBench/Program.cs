// Fault benchmarks of the server process (issue 25). Usage (build the server first: dotnet build -c Release src/XdsControlPlane.Server):
//   dotnet run -c Release --project bench/XdsControlPlane.FaultBench -- RUN [--clients N] [--services 50] [--seconds S]
//       [--sample-seconds 10] [--timeout-seconds 300] [--svg path.svg] [--out report.md] [--server path/to/XdsControlPlane.Server.dll]
// RUN is one of
//   restart        SIGKILL and restart on the same port under --clients streams (default 1,000): same versions, no flap, time to converge
//   nack-storm     --clients streams (default 1,000) rejecting every push, an endpoint change a second, for --seconds (default 60)
//   connect-storm  --clients streams (default 10,000) opened at once: time until all are in sync, peak memory, refusals
//   soak           --seconds (default 1,800) of churn under --clients streams (default 1,000) with a local-connect agent carrying traffic; --svg writes the curves;
//                  prints each curve's slope over the second half and whether it is flat by the stated rule (exit code 3 when one grows);
//                  --max-stream-age-seconds sets the server's Xds:MaxStreamAge (default for a soak: a third of --seconds, at least 60)
//   chart          --csv FILE (a soak's samples, $TMPDIR/fault-bench-soak.csv) --svg OUT [--clients N]: draws the soak's SVG again
// The server runs as a child process in manifests mode on loopback, its log in $TMPDIR/fault-bench-server-RUN.log. Prints a
// Markdown section (progress goes to stderr). Linux only (reads /proc). Needs about 3 file descriptors per stream in this
// process: raise `ulimit -n` for 10,000.
using System.Globalization;
using XdsControlPlane.Benchmarks;
using XdsControlPlane.FaultBench;

var run = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "";
var (clients, seconds) = run switch
{
    "restart" => (1000, 0),
    "nack-storm" => (1000, 60),
    "connect-storm" => (10000, 0),
    "soak" => (1000, 1800),
    "chart" => (1000, 0),
    _ => throw new ArgumentException($"the first argument must be restart, nack-storm, connect-storm, soak or chart, got '{run}'"),
};
if (run == "chart")
{
    var samples = SoakChart.ReadCsv(Option("--csv") ?? throw new ArgumentException("chart needs --csv FILE"));
    await SoakChart.WriteSvgAsync(Option("--svg") ?? throw new ArgumentException("chart needs --svg OUT"), samples, Int("--clients") ?? clients, CancellationToken.None);
    return;
}

var settings = new BenchSettings(
    Option("--server") ?? ServerBinary.Find(),
    Int("--clients") ?? clients,
    Int("--services") ?? 50,
    TimeSpan.FromSeconds(Int("--seconds") ?? seconds),
    TimeSpan.FromSeconds(Int("--timeout-seconds") ?? 300),
    Console.Error)
{
    SampleEvery = TimeSpan.FromSeconds(Int("--sample-seconds") ?? (run == "nack-storm" ? 5 : 10)),
    SvgPath = Option("--svg"),
    // A soak recycles its streams three times by default (the server's own default, 30 min, would land the only recycle
    // at the end of a 30-minute run, where the flat rule reads it as growth).
    MaxStreamAge = Int("--max-stream-age-seconds") is { } age ? TimeSpan.FromSeconds(age) : run == "soak" ? TimeSpan.FromSeconds(Math.Max(60, (Int("--seconds") ?? seconds) / 3)) : null,
};

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var started = DateTimeOffset.UtcNow;
var soak = new SoakRun(settings);
IReadOnlyList<string> report = run switch
{
    "restart" => await new RestartRun(settings).RunAsync(cancel.Token),
    "nack-storm" => await new NackStormRun(settings).RunAsync(cancel.Token),
    "connect-storm" => await new ConnectStormRun(settings).RunAsync(cancel.Token),
    _ => await soak.RunAsync(cancel.Token),
};
var text = string.Join('\n', [
    .. report,
    $"`dotnet run --project bench/XdsControlPlane.FaultBench -- {string.Join(' ', args)}`, {started:yyyy-MM-dd HH:mm}–{DateTimeOffset.UtcNow:HH:mm} UTC, server {settings.ServerDll}.",
    "",
]);
Console.Write(text);
if (Option("--out") is { } file)
{
    await File.WriteAllTextAsync(file, text, CancellationToken.None);
}

if (soak.Grew)
{
    Environment.ExitCode = 3;
}

string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();

int? Int(string name) => Option(name) is { } value ? int.Parse(value, CultureInfo.InvariantCulture) : null;
