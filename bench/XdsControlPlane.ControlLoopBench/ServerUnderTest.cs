using System.Diagnostics;
using System.Globalization;
using XdsControlPlane.Testing;

namespace XdsControlPlane.ControlLoopBench;

/// <summary>
/// The server host as a child process (<c>dotnet XdsControlPlane.Server.dll</c>) on free loopback ports with JSON
/// logs: readiness, its Warning/Error log lines, and its CPU time and resident memory from <c>/proc</c> (Linux).
/// </summary>
internal sealed class ServerUnderTest : IAsyncDisposable
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux
    private readonly Process _process;
    private readonly List<string> _problems = [];
    private readonly StreamWriter _log;

    private ServerUnderTest(Process process, int xdsPort, int adminPort, long started, string logFile)
    {
        (_process, XdsPort, AdminPort, Started, LogFile) = (process, xdsPort, adminPort, started, logFile);
        _log = new StreamWriter(logFile) { AutoFlush = true };
    }

    /// <summary>Where every line the server wrote goes.</summary>
    public string LogFile { get; }

    /// <summary>Null while running, else how it ended.</summary>
    public string? Exit => _process.HasExited ? $"the server exited with code {_process.ExitCode.ToString(CultureInfo.InvariantCulture)} (log: {LogFile})" : null;

    /// <summary>The server's process id.</summary>
    public int ProcessId => _process.Id;

    public int XdsPort { get; }

    public int AdminPort { get; }

    /// <summary>When the process was started (a <see cref="Stopwatch"/> timestamp).</summary>
    public long Started { get; }

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

    /// <summary>Starts the server with <paramref name="sourceArgs"/> and extra <paramref name="environment"/> variables, on <paramref name="xdsPort"/> when given (a restart on the port clients redial), else on a free port.</summary>
    public static ServerUnderTest Start(string serverDll, IReadOnlyList<string> sourceArgs, string logFile, IReadOnlyDictionary<string, string>? environment = null, int? xdsPort = null)
    {
        var adminPort = FreePort.Next();
        xdsPort ??= FreePort.Next();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Every listener on a free port: another server on the machine (a second bench) must not make this one fail to start.
        string[] ports = ["--xds-port", I(xdsPort.Value), "--admin-port", I(adminPort),
            .. (sourceArgs.Contains("--tunnel-port") ? [] : (string[])["--tunnel-port", "0"]),
            .. (sourceArgs.Contains("--webhook-port") ? [] : (string[])["--webhook-port", I(FreePort.Next())])];
        foreach (var arg in (string[])[serverDll, "--loopback", .. ports, "--log-format", "json", .. sourceArgs])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var started = Stopwatch.GetTimestamp();
        var process = Process.Start(start)!;
        var server = new ServerUnderTest(process, xdsPort.Value, adminPort, started, logFile);
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Polls <c>/readyz</c> every 20 ms until it answers 200; returns the time from process start.</summary>
    public async Task<TimeSpan> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{I(AdminPort)}"), Timeout = TimeSpan.FromSeconds(5) };
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
                    return Stopwatch.GetElapsedTime(Started);
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

            if (Stopwatch.GetElapsedTime(Started) > timeout)
            {
                throw new TimeoutException($"the server was not ready within {timeout.TotalSeconds:0} s");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>User plus system CPU time of the process so far (<c>/proc/PID/stat</c> fields 14 and 15).</summary>
    public TimeSpan CpuTime()
    {
        ThrowIfExited();
        var stat = File.ReadAllText($"/proc/{I(_process.Id)}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>A field of <c>/proc/PID/status</c> in bytes (VmRSS, VmHWM).</summary>
    public long Memory(string field)
    {
        ThrowIfExited();
        var line = File.ReadLines($"/proc/{I(_process.Id)}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Stops the process as Kubernetes stops a pod (SIGTERM: a graceful shutdown that hands back the leader Lease) and waits until it is gone.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_process.HasExited)
        {
            using var term = Process.Start("kill", ["-TERM", I(_process.Id)]);
            await term.WaitForExitAsync(cancellationToken);
        }

        await _process.WaitForExitAsync(cancellationToken);
    }

    /// <summary>Kills the process with SIGKILL (no shutdown of any kind) and waits until it and its output are gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync(); // also waits for the redirected output to end
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private void ThrowIfExited()
    {
        if (Exit is { } exit)
        {
            throw new InvalidOperationException(exit);
        }
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.WriteLine(line);
            }
        }

        if (line is null || !(line.Contains("\"@l\":\"Warning\"", StringComparison.Ordinal) || line.Contains("\"@l\":\"Error\"", StringComparison.Ordinal)
            || line.Contains("\"@l\":\"Fatal\"", StringComparison.Ordinal) || line.StartsWith("Unhandled", StringComparison.Ordinal)))
        {
            return;
        }

        lock (_problems)
        {
            _problems.Add(line);
        }
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}
