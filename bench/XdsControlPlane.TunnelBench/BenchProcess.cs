using System.Diagnostics;

namespace XdsControlPlane.TunnelBench;

/// <summary>This process's resident memory and CPU time (the client, the agent and the laptop's service run here).</summary>
internal static class BenchProcess
{
    /// <summary>Resident memory in bytes.</summary>
    public static long ResidentBytes()
    {
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }

    /// <summary>User plus system CPU time so far.</summary>
    public static TimeSpan CpuTime()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }
}
