using System.Diagnostics;
using System.Globalization;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// The server's active timers (<c>dotnet.timer.count</c>), through <c>dotnet-counters collect</c> (the System.Runtime
/// counters as CSV, one row a refresh) when that tool is on the PATH or in <c>~/.dotnet/tools</c>. The tool runs as a
/// child process for a fixed duration and writes its file as it ends; <see cref="ReadAsync"/> waits for that.
/// </summary>
internal sealed class RuntimeTimers : IDisposable
{
    private readonly Process? _collector;
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"fault-bench-counters-{Environment.ProcessId}.csv");

    public RuntimeTimers(int processId, TimeSpan refresh, TimeSpan duration)
    {
        if (Find() is not { } tool)
        {
            return;
        }

        var start = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        var length = TimeSpan.FromSeconds(Math.Ceiling(duration.TotalSeconds));
        foreach (var arg in (string[])["collect", "-p", processId.ToString(CultureInfo.InvariantCulture), "--counters", "System.Runtime", "--refresh-interval", ((int)Math.Max(1, refresh.TotalSeconds)).ToString(CultureInfo.InvariantCulture), "--format", "csv", "-o", _file, "--duration", length.ToString(@"dd\:hh\:mm\:ss", CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(arg);
        }

        _collector = Process.Start(start);
        _collector?.BeginOutputReadLine();
        _collector?.BeginErrorReadLine();
    }

    /// <summary>Whether a collector runs.</summary>
    public bool Available => _collector is not null;

    /// <summary>Waits (at most <paramref name="patience"/>) for the collector to end, then returns its timer counts by time (UTC); empty without one.</summary>
    public async Task<IReadOnlyList<(DateTime At, double Timers)>> ReadAsync(TimeSpan patience)
    {
        if (_collector is null)
        {
            return [];
        }

        using var wait = new CancellationTokenSource(patience);
        try
        {
            await _collector.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            return [];
        }

        if (!File.Exists(_file))
        {
            return [];
        }

        return [.. File.ReadLines(_file)
            .Where(l => l.Contains(",dotnet.timer.count", StringComparison.Ordinal))
            .Select(l => l.Split(','))
            .Select(f => (At: DateTime.ParseExact(f[0], "MM/dd/yyyy HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal | DateTimeStyles.AdjustToUniversal), Timers: double.Parse(f[^1], CultureInfo.InvariantCulture)))];
    }

    public void Dispose()
    {
        if (_collector is { HasExited: false })
        {
            _collector.Kill();
        }

        _collector?.Dispose();
        File.Delete(_file);
    }

    private static string? Find()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Append(Path.Combine(home, ".dotnet", "tools"))
            .Select(directory => Path.Combine(directory, "dotnet-counters"))
            .FirstOrDefault(File.Exists);
    }
}
