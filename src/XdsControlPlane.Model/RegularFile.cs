using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace XdsControlPlane.Model;

/// <summary>Opens manifest files without blocking on, or reading without end from, what is not a regular file.</summary>
internal static partial class RegularFile
{
    private const int LinuxNonBlocking = 0x800;
    private const int LinuxCloseOnExec = 0x80000;
    private const int MacNonBlocking = 0x4;
    private const int MacCloseOnExec = 0x1000000;

    /// <summary>
    /// Opens <paramref name="path"/> for reading if it is a regular file; otherwise returns null with the reason. A
    /// named pipe would block the reader forever in <c>open(2)</c> and a link to <c>/dev/zero</c> never ends, so on
    /// Linux and macOS the file is opened non-blocking and anything that cannot seek, or that lives below /dev, /proc
    /// or /sys, is refused.
    /// </summary>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static Stream? Open(string path, out string? reason)
    {
        reason = null;
        var real = RealPath.Of(path);
        if (real.StartsWith("/dev/", StringComparison.Ordinal) || real.StartsWith("/proc/", StringComparison.Ordinal) || real.StartsWith("/sys/", StringComparison.Ordinal))
        {
            reason = $"not a regular file ({real} is a device or a kernel file)";
            return null;
        }

        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return File.OpenRead(path);
        }

        var flags = OperatingSystem.IsLinux() ? LinuxNonBlocking | LinuxCloseOnExec : MacNonBlocking | MacCloseOnExec;
        var fd = NativeOpen(path, flags);
        if (fd < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            throw new IOException($"{Marshal.GetPInvokeErrorMessage(error)} ({path})", error);
        }

        var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, bufferSize: 0);
        if (!stream.CanSeek)
        {
            stream.Dispose();
            reason = "not a regular file (a named pipe, socket or terminal)";
            return null;
        }

        return stream;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeOpen(string path, int flags);
}
