using System.Globalization;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// One look at a process in <c>/proc</c> (Linux): resident memory (all of it, and the anonymous part: heaps and stacks,
/// not mapped files such as the runtime's libraries nor the JIT's code), threads and open file descriptors.
/// </summary>
internal sealed record ProcessSample(double RssMib, int Threads, int OpenFiles)
{
    /// <summary>The anonymous part of <see cref="RssMib"/> (RssAnon): the GC heap, native allocations, stacks.</summary>
    public double AnonymousMib { get; init; }

    public static ProcessSample Of(int processId)
    {
        var status = File.ReadAllLines($"/proc/{processId}/status");
        long Field(string name) => long.Parse(status.First(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return new ProcessSample(Field("VmRSS") / 1024.0, (int)Field("Threads"), System.IO.Directory.GetFileSystemEntries($"/proc/{processId}/fd").Length)
        {
            AnonymousMib = Field("RssAnon") / 1024.0,
        };
    }

    /// <summary>The most resident memory the process has used (VmHWM) in MiB.</summary>
    public static double PeakMib(int processId) =>
        long.Parse(File.ReadLines($"/proc/{processId}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;

    /// <summary>The one-minute load average of the machine.</summary>
    public static double LoadAverage() => double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
}
