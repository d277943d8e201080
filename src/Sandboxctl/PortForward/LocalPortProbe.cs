using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sandboxctl.PortForward;

/// <summary>
/// The local side of a port: listening on it, and when it is taken, who holds it (on Linux, from
/// <c>/proc/net/tcp{,6}</c> and the <c>socket:[inode]</c> links under <c>/proc/*/fd</c>; best effort) and the
/// nearest free port.
/// </summary>
internal static class LocalPortProbe
{
    private const string Listening = "0A";

    private static readonly string[] Tables = ["/proc/net/tcp", "/proc/net/tcp6"];

    /// <summary>A started listener on the port, or null when the port is in use.</summary>
    public static TcpListener? TryListen(IPAddress address, int port)
    {
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start();
            return listener;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            listener.Dispose();
            return null;
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new CliException($"cannot listen on {address}:{port}: {e.Message}.", port < 1024 ? "Ports below 1024 need privileges; use a higher local port (LOCAL:REMOTE)." : "Pick another local port (LOCAL:REMOTE) or --address.", ExitCodes.UserError);
        }
    }

    /// <summary>The free port nearest to <paramref name="port"/> (above first, then below, never under 1024), or null.</summary>
    public static int? NearestFree(IPAddress address, int port)
    {
        for (var distance = 1; distance < 1000; distance++)
        {
            foreach (var candidate in new[] { port + distance, port - distance })
            {
                if (candidate is >= 1024 and <= IPEndPoint.MaxPort && IsFree(address, candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>The process listening on a TCP port, as <c>name (pid N)</c>, or null when it cannot be told.</summary>
    public static string? Owner(int port)
    {
        try
        {
            var inodes = Tables.Where(File.Exists).SelectMany(f => ListeningInodes(File.ReadLines(f), port)).ToHashSet(StringComparer.Ordinal);
            return inodes.Count == 0 ? null : ProcessHolding(inodes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The inodes of listening sockets on <paramref name="port"/> in the lines of <c>/proc/net/tcp</c>.</summary>
    internal static IEnumerable<string> ListeningInodes(IEnumerable<string> lines, int port)
    {
        foreach (var line in lines.Skip(1))
        {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 10 || fields[3] != Listening)
            {
                continue;
            }

            var local = fields[1];
            var colon = local.LastIndexOf(':');
            if (colon > 0 && int.TryParse(local.AsSpan(colon + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var localPort) && localPort == port)
            {
                yield return fields[9];
            }
        }
    }

    private static bool IsFree(IPAddress address, int port)
    {
        using var listener = TryListen(address, port);
        listener?.Stop();
        return listener is not null;
    }

    private static string? ProcessHolding(HashSet<string> inodes)
    {
        foreach (var process in Directory.EnumerateDirectories("/proc"))
        {
            var pid = Path.GetFileName(process);
            if (!pid.All(char.IsAsciiDigit))
            {
                continue;
            }

            try
            {
                foreach (var fd in Directory.EnumerateFiles(Path.Combine(process, "fd")))
                {
                    if (new FileInfo(fd).LinkTarget is ['s', 'o', 'c', 'k', 'e', 't', ':', '[', .. var inode, ']'] && inodes.Contains(inode))
                    {
                        var name = File.ReadAllText(Path.Combine(process, "comm")).Trim();
                        return $"{name} (pid {pid})";
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another user's process, or one that just exited.
            }
        }

        return null;
    }
}
