using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace XdsControlPlane.TunnelBench;

/// <summary>
/// The server host (tunnel broker inside) as a child process: manifests mode on a directory, free loopback ports for
/// xDS, admin and the tunnel, per-workload listeners on free ports, JSON logs to a file; its readiness, its
/// Warning/Error lines and its resident memory from <c>/proc</c> (Linux).
/// </summary>
internal sealed class BrokerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _problems = [];
    private readonly StreamWriter _log;

    private BrokerProcess(Process process, int adminPort, int tunnelPort, string logFile)
    {
        (_process, AdminPort, TunnelPort, LogFile) = (process, adminPort, tunnelPort, logFile);
        _log = new StreamWriter(logFile) { AutoFlush = true };
    }

    /// <summary>Where every line the server wrote goes.</summary>
    public string LogFile { get; }

    public int AdminPort { get; }

    /// <summary>The broker's gRPC port (<c>--tunnel-port</c>).</summary>
    public int TunnelPort { get; }

    /// <summary>Warning, Error and Fatal log lines so far.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_problems)
            {
                return [.. _problems];
            }
        }
    }

    /// <summary>Starts <paramref name="serverDll"/> on the manifests in <paramref name="manifests"/>.</summary>
    public static BrokerProcess Start(string serverDll, string manifests, string logFile)
    {
        var (xdsPort, adminPort, tunnelPort) = (FreePort(), FreePort(), FreePort());
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] arguments =
        [
            serverDll, "--loopback", "--xds-port", I(xdsPort), "--admin-port", I(adminPort), "--tunnel-port", I(tunnelPort),
            "--tunnel-listen-ports", "0", "--manifests", manifests, "--log-format", "json",
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(start)!;
        var broker = new BrokerProcess(process, adminPort, tunnelPort, logFile);
        process.OutputDataReceived += (_, e) => broker.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => broker.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return broker;
    }

    /// <summary>Polls <c>/readyz</c> every 50 ms until it answers 200.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{I(AdminPort)}"), Timeout = TimeSpan.FromSeconds(5) };
        var started = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the server exited with {_process.ExitCode}; problems logged: {string.Join('\n', Problems)}");
            }

            try
            {
                using var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative), cancellationToken);
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // a slow answer while it starts
            }

            if (started.Elapsed > timeout)
            {
                throw new TimeoutException($"the server was not ready within {timeout.TotalSeconds:0} s (log: {LogFile})");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>The process's resident memory in bytes (<c>VmRSS</c> of <c>/proc/PID/status</c>).</summary>
    public long ResidentBytes() => ProcStatus.Read(_process.Id, "VmRSS");

    /// <summary>The process's CPU time so far.</summary>
    public TimeSpan CpuTime() => ProcStatus.CpuTime(_process.Id);

    /// <summary>The most resident memory the process had so far (<c>VmHWM</c>).</summary>
    public long PeakResidentBytes() => ProcStatus.Read(_process.Id, "VmHWM");

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.WriteLine(line);
        }

        if (line.Contains("\"@l\":\"Warning\"", StringComparison.Ordinal) || line.Contains("\"@l\":\"Error\"", StringComparison.Ordinal)
            || line.Contains("\"@l\":\"Fatal\"", StringComparison.Ordinal) || line.StartsWith("Unhandled", StringComparison.Ordinal))
        {
            lock (_problems)
            {
                _problems.Add(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
