using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl local connect … -o json</c> as a real process with its own state directory: its JSON events as
/// they come, its stderr, SIGTERM and SIGKILL, its exit code.
/// </summary>
internal sealed class LocalAgentProcess : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly Channel<JsonObject> _events = Channel.CreateUnbounded<JsonObject>();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Task _reading;

    private LocalAgentProcess(Process process)
    {
        _process = process;
        _reading = Task.WhenAll(ReadEventsAsync(), ReadErrorsAsync());
    }

    /// <summary>Everything the process wrote to stdout so far.</summary>
    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    /// <summary>Everything the process wrote to stderr so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public int Pid => _process.Id;

    /// <summary>Starts <c>sandboxctl</c> with <paramref name="args"/>, its state under <paramref name="stateDirectory"/>.</summary>
    public static LocalAgentProcess Start(string stateDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.Environment["SANDBOXCTL_STATE_DIR"] = stateDirectory;
        start.ArgumentList.Add(SandboxctlDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new LocalAgentProcess(Process.Start(start)!);
    }

    /// <summary>Runs <c>sandboxctl</c> to its end with the same state directory.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string stateDirectory, params string[] args)
    {
        await using var run = Start(stateDirectory, args);
        var code = await run.ExitCodeAsync();
        return (code, run.Stdout, run.Stderr);
    }

    /// <summary>
    /// sandboxctl as its own project built it: the test's output directory drops the logging abstractions the agent
    /// needs (the test project has them from the ASP.NET Core framework, which sandboxctl does not run on).
    /// </summary>
    private static string SandboxctlDll
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var own = XdsControlPlane.Testing.RepoDirectory.Path("src", "Sandboxctl", "bin", output.Parent!.Name, output.Name, "sandboxctl.dll");
            return File.Exists(own) ? own : Path.Combine(AppContext.BaseDirectory, "sandboxctl.dll");
        }
    }

    /// <summary>The next event named <paramref name="name"/> (earlier events of other names are skipped); fails with the output after 30 s.</summary>
    public async Task<JsonObject> NextAsync(string name)
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            while (true)
            {
                var next = await _events.Reader.ReadAsync(timeout.Token);
                if ((string?)next["event"] == name)
                {
                    return next;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            Assert.Fail($"no '{name}' event; stdout:\n{Stdout}\nstderr:\n{Stderr}");
            throw;
        }
    }

    /// <summary>Sends SIGTERM and waits for the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        await SignalAsync(_process.Id, "TERM");
        return await ExitCodeAsync();
    }

    /// <summary>Kills the process with SIGKILL (no cleanup) and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await ExitCodeAsync();
    }

    /// <summary>The exit code, once it exits (fails after 30 s).</summary>
    public async Task<int> ExitCodeAsync()
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the agent did not exit; stdout:\n{Stdout}\nstderr:\n{Stderr}");
        }

        await _reading.WaitAsync(Patience);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private async Task ReadEventsAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            lock (_stdout)
            {
                _stdout.AppendLine(line);
            }

            if (line.StartsWith("{\"event\"", StringComparison.Ordinal) && JsonNode.Parse(line) is JsonObject json)
            {
                _events.Writer.TryWrite(json);
            }
        }

        _events.Writer.TryComplete();
    }

    private async Task ReadErrorsAsync()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            lock (_stderr)
            {
                _stderr.AppendLine(line);
            }
        }
    }

    /// <summary>Sends a signal with kill(1).</summary>
    public static async Task SignalAsync(int pid, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.That(kill.ExitCode, Is.Zero, $"kill -{signal} {pid}");
    }
}
