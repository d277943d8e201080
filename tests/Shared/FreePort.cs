using System.Net;
using System.Net.Sockets;

namespace XdsControlPlane.Testing;

/// <summary>A loopback TCP port that was free a moment ago, for a process or option that needs a number rather than 0.</summary>
internal static class FreePort
{
    /// <summary>Binds port 0 on loopback, reads the port the system chose and releases it.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
