using XdsControlPlane.Testing;
using System.Net.Sockets;

namespace Sandboxctl.Tests;

/// <summary>An in-cluster raw TCP target on loopback: writes back every byte it reads, on every connection.</summary>
internal sealed class LocalTcpEcho : LoopbackTcpServer
{
    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                await client.GetStream().CopyToAsync(client.GetStream());
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The client went away.
            }
        }
    }
}
