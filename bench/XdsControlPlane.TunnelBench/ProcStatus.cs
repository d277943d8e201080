using System.Globalization;

namespace XdsControlPlane.TunnelBench;

/// <summary>Reads a memory field of <c>/proc/PID/status</c> (Linux).</summary>
internal static class ProcStatus
{
    /// <summary>The field (VmRSS, VmHWM) of process <paramref name="pid"/> in bytes.</summary>
    public static long Read(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }
}
