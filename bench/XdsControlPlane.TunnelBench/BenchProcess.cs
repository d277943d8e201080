using System.Diagnostics;
using System.Globalization;

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

    /// <summary>
    /// How often the threads of process <paramref name="pid"/> (this one when null) gave up the CPU to wait — for a
    /// socket, a lock, a queue, a signal from another thread —, summed over its live threads
    /// (<c>voluntary_ctxt_switches</c> of <c>/proc/PID/task/*/status</c>; threads that ended meanwhile are not
    /// counted). Per byte moved this counts the hand-offs between threads, and unlike CPU time it hardly moves with
    /// the machine's load. Zero where <c>/proc</c> is missing.
    /// </summary>
    public static long VoluntarySwitches(int? pid = null)
    {
        var tasks = $"/proc/{(pid ?? Environment.ProcessId).ToString(CultureInfo.InvariantCulture)}/task";
        if (!Directory.Exists(tasks))
        {
            return 0;
        }

        long total = 0;
        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            try
            {
                var line = File.ReadLines(Path.Combine(task, "status")).FirstOrDefault(l => l.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal));
                if (line is not null)
                {
                    total += long.Parse(line["voluntary_ctxt_switches:".Length..].Trim(), CultureInfo.InvariantCulture);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The thread ended while being read.
            }
        }

        return total;
    }

    /// <summary>User plus system CPU time so far.</summary>
    public static TimeSpan CpuTime()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }
}
