using System.Diagnostics;
using System.Globalization;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// The server's active timers, through <c>dotnet-counters collect</c> (the System.Runtime counters as CSV, one row a
/// refresh) when that tool is on the PATH; null values otherwise. The tool runs as a child process for the whole run.
/// </summary>
internal sealed class RuntimeTimers : IDisposable
{
    private readonly Process? _collector;
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"fault-bench-counters-{Environment.ProcessId}.csv");

    public RuntimeTimers(int processId, TimeSpan refresh)
    {
        var start = new ProcessStartInfo("dotnet-counters") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["collect", "-p", processId.ToString(CultureInfo.InvariantCulture), "--counters", "System.Runtime", "--refresh-interval", ((int)Math.Max(1, refresh.TotalSeconds)).ToString(CultureInfo.InvariantCulture), "--format", "csv", "-o", _file])
        {
            start.ArgumentList.Add(arg);
        }

        try
        {
            _collector = Process.Start(start);
            _collector?.BeginOutputReadLine();
            _collector?.BeginErrorReadLine();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            _collector = null; // not installed: no timer figures
        }
    }

    /// <summary>Whether the figures come from a running collector.</summary>
    public bool Available => _collector is { HasExited: false };

    /// <summary>The latest active-timer count the collector wrote, or null.</summary>
    public double? Latest()
    {
        if (!File.Exists(_file))
        {
            return null;
        }

        try
        {
            using var stream = new FileStream(_file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            double? latest = null;
            while (reader.ReadLine() is { } line)
            {
                if (line.Contains("timer", StringComparison.OrdinalIgnoreCase) && double.TryParse(line[(line.LastIndexOf(',') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    latest = value;
                }
            }

            return latest;
        }
        catch (IOException)
        {
            return null;
        }
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
}
