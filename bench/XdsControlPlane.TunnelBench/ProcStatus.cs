using System.Globalization;

namespace XdsControlPlane.TunnelBench;

/// <summary>Reads a process's memory and CPU time from <c>/proc</c> (Linux).</summary>
internal static class ProcStatus
{
    /// <summary>The field (VmRSS, VmHWM) of process <paramref name="pid"/> in bytes.</summary>
    public static long Read(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>User plus system CPU time of process <paramref name="pid"/> so far (<c>/proc/PID/stat</c> fields 14 and 15, in USER_HZ ticks of 1/100 s).</summary>
    public static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);
    }
}
