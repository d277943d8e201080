using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace XdsControlPlane.Testing;

/// <summary>
/// The server as a real process (<c>dotnet XdsControlPlane.Server.dll</c> from the test's output directory) on free
/// loopback ports: its output, whether it is still running, its exit code and its peak memory (VmHWM).
/// </summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<(int Xds, int Admin, int Tunnel)> _ports = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private DirectoryInfo? _scratch;

    private ServerProcess(Process process) => _process = process;

    /// <summary>The bound xDS port.</summary>
    public int XdsPort { get; private set; }

    /// <summary>The bound admin port.</summary>
    public int AdminPort { get; private set; }

    /// <summary>The bound tunnel broker port.</summary>
    public int TunnelPort { get; private set; }

    /// <summary>Whether the process is still running.</summary>
    public bool Running => !_process.HasExited;

    /// <summary>
    /// Starts the server with <paramref name="args"/> (plus <c>--loopback --xds-port 0 --admin-port 0 --tunnel-port 0 --webhook-port 0</c>: the webhook off) and waits
    /// until it listens. With <paramref name="withoutRootPrivileges"/>, it runs in a new user namespace
    /// (<c>unshare -U</c>), where file permissions apply even to root, so unreadable files stay unreadable. With
    /// <paramref name="readOnlyRootFilesystem"/>, it runs as a container with <c>readOnlyRootFilesystem: true</c> and an
    /// emptyDir on /tmp does: in new user and mount namespaces (<c>unshare -Urm</c>) where every mount is read-only and
    /// a fresh tmpfs is the temporary directory (<c>TMPDIR</c>; mounted on a directory of its own rather than on /tmp,
    /// which may hold the checkout itself); the process exits 91 if a write elsewhere still succeeds. With
    /// <paramref name="openFileLimit"/>, it runs with that limit of open files (<c>prlimit --nofile</c>). With
    /// <paramref name="xdsPort"/> or <paramref name="tunnelPort"/>, it listens there instead of on a port of its choice
    /// (a restarted server on the port its clients redial).
    /// </summary>
    public static async Task<ServerProcess> StartAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment = null, bool withoutRootPrivileges = false, bool readOnlyRootFilesystem = false, int? openFileLimit = null, int xdsPort = 0, int tunnelPort = 0)
    {
        var start = new ProcessStartInfo(withoutRootPrivileges || readOnlyRootFilesystem ? "unshare" : openFileLimit is null ? "dotnet" : "prlimit")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var scratch = readOnlyRootFilesystem ? Directory.CreateTempSubdirectory("xdscp-tmpfs-") : null;
        if (scratch is not null)
        {
            foreach (var arg in (string[])["-Urm", "sh", "-c", ReadOnlyRootScript, "sh", AppContext.BaseDirectory, scratch.FullName, "dotnet"])
            {
                start.ArgumentList.Add(arg);
            }
        }
        else if (withoutRootPrivileges)
        {
            start.ArgumentList.Add("-U");
            start.ArgumentList.Add("dotnet");
        }
        else if (openFileLimit is { } files)
        {
            // util-linux's prlimit: the process starts with this soft and hard limit of open files (ulimit -n).
            start.ArgumentList.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"--nofile={files}:{files}"));
            start.ArgumentList.Add("dotnet");
        }

        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "XdsControlPlane.Server.dll"), .. args, "--loopback", "--xds-port", I(xdsPort), "--admin-port", "0", "--tunnel-port", I(tunnelPort), "--webhook-port", "0"])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var server = new ServerProcess(Process.Start(start)!) { _scratch = scratch };
        server._process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        var exited = server._process.WaitForExitAsync();
        var listening = server._ports.Task;
        if (await Task.WhenAny(listening, exited, Task.Delay(StartTimeout)) != listening)
        {
            var state = server._process.HasExited ? $"exited with {server._process.ExitCode}" : "did not report its ports";
            await server.DisposeAsync();
            throw new InvalidOperationException($"the server {state}; output:\n{server.Output()}");
        }

        (server.XdsPort, server.AdminPort, server.TunnelPort) = await listening;
        return server;
    }

    /// <summary>Everything the process wrote so far, stdout and stderr interleaved.</summary>
    public string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    /// <summary>Whether the output so far contains <paramref name="text"/>.</summary>
    public bool Said(string text) => Output().Contains(text, StringComparison.Ordinal);

    /// <summary>The most resident memory the process has used (VmHWM, Linux), in MiB; null where unknown.</summary>
    public double? PeakMemoryMib()
    {
        try
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? null : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Sends SIGTERM and waits for the exit code.</summary>
    public async Task<int> StopAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Kills the process with SIGKILL (no shutdown of any kind) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _process.WaitForExitAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _scratch?.Delete(recursive: true);
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (ListeningLine().Match(line) is { Success: true } match)
        {
            _ports.TrySetResult((int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture)));
        }
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    // $1: a directory that must not be writable afterwards (besides /); the rest is the command.
    private const string ReadOnlyRootScript = """
        mount -t tmpfs tmpfs "$2" || exit 90
        for m in $(awk '{print $2}' /proc/self/mounts); do
          case "$m" in /proc*|/sys*|/dev*|"$2") ;; *) mount -o remount,bind,ro "$m" || exit 90 ;; esac
        done
        for d in / /tmp "$1"; do if touch "$d/.write-probe" 2>/dev/null; then echo "$d is writable"; exit 91; fi; done
        export TMPDIR="$2"
        shift 2
        exec "$@"
        """;

    [GeneratedRegex(@"Listening: xDS on port (\d+) \(HTTP/2\), admin on port (\d+) \(HTTP/1.1\), tunnel broker on port (\d+)")]
    private static partial Regex ListeningLine();
}
