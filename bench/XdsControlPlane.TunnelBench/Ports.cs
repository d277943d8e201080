using System.Net;
using System.Net.Sockets;

namespace XdsControlPlane.TunnelBench;

/// <summary>Waiting for a child process's port.</summary>
internal static class Ports
{
    /// <summary>Waits (up to 20 s) until <paramref name="endPoint"/> accepts a connection; fails early when <paramref name="exited"/> says the process is gone.</summary>
    public static async Task WaitAcceptingAsync(IPEndPoint endPoint, Func<string?> exited, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            if (exited() is { } exit)
            {
                throw new InvalidOperationException($"{exit} before {endPoint} accepted connections");
            }

            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await probe.ConnectAsync(endPoint, cancellationToken);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }
}
