using System.Net.Sockets;
using System.Text;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Docker.Tests.Cluster;

/// <summary>The service on the developer's laptop for local connect: answers every HTTP/1.1 request with "laptop".</summary>
internal sealed class LaptopService : LoopbackTcpServer
{
    private static readonly byte[] Response = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nlaptop");

    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new byte[16 * 1024];
                var seen = new StringBuilder();
                while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && seen.Length < buffer.Length)
                {
                    var read = await stream.ReadAsync(buffer);
                    if (read == 0)
                    {
                        return;
                    }

                    seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }

                await stream.WriteAsync(Response);
            }
            catch (IOException)
            {
                // The tunnel closed the connection; the next request opens another.
            }
        }
    }
}
