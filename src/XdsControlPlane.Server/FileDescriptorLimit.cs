using System.Globalization;

namespace XdsControlPlane.Server;

/// <summary>The process's soft limit of open files, as Linux reports it in <c>/proc/self/limits</c>.</summary>
internal static class FileDescriptorLimit
{
    private const string LimitsFile = "/proc/self/limits";

    /// <summary>The soft limit, or null where it cannot be read (not Linux) or is <c>unlimited</c>.</summary>
    public static long? Soft()
    {
        try
        {
            return File.Exists(LimitsFile) ? Parse(File.ReadLines(LimitsFile)) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The soft limit in the lines of a limits file (<c>Max open files  20000  20000  files</c>); null when absent or unlimited.</summary>
    internal static long? Parse(IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
            }
        }

        return null;
    }
}
