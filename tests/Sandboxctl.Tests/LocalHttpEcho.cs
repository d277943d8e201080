using XdsControlPlane.Testing;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sandboxctl.Tests;

/// <summary>
/// A tiny HTTP/1.1 server on loopback standing in for the laptop's service or an in-cluster backend: it answers every
/// request of a keep-alive connection with its name and the request head it received (so tests see the headers).
/// </summary>
internal sealed class LocalHttpEcho(string name) : LoopbackTcpServer
{
    private readonly string _name = name;

    /// <summary>Sends one request over a new connection to <paramref name="port"/> and returns the response body.</summary>
    public static async Task<string> GetAsync(int port, string path, params string[] headers)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        return await SendAsync(stream, path, headers);
    }

    /// <summary>Sends one request on <paramref name="stream"/> and returns the response body.</summary>
    public static async Task<string> SendAsync(NetworkStream stream, string path, params string[] headers)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var request = $"GET {path} HTTP/1.1\r\nHost: test\r\n{string.Concat(headers.Select(h => h + "\r\n"))}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var head = await ReadHeadAsync(stream) ?? throw new IOException("the connection closed before a response");
        var length = int.Parse(head.Split("\r\n").First(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var body = new byte[length];
        await stream.ReadExactlyAsync(body);
        return Encoding.ASCII.GetString(body);
    }

    private static async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || !(head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0)
            {
                return null;
            }

            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString([.. head]);
    }

    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                while (await ReadHeadAsync(stream) is { } head)
                {
                    var body = Encoding.ASCII.GetBytes($"{_name}\n{head}");
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\n\r\n"));
                    await stream.WriteAsync(body);
                }
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The client went away.
            }
        }
    }
}
