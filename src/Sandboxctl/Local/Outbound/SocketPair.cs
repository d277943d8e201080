using System.Net;
using System.Net.Sockets;

namespace Sandboxctl.Local.Outbound;

/// <summary>
/// Two connected sockets: the tunnel multiplexer carries sockets, and the outbound proxy's HTTP client writes to a
/// stream, so each connection the proxy opens into the tunnel is one end of a pair (the multiplexer owns the other).
/// A loopback TCP connection, made through a one-off listener that takes only the connection it expects: the
/// multiplexer sets TCP options (no delay) on its sockets, which a Unix <c>socketpair(2)</c> lacks, and Windows has none.
/// </summary>
internal static class SocketPair
{
    /// <summary>A connected pair.</summary>
    public static async Task<(Socket First, Socket Second)> CreateAsync(CancellationToken cancellationToken)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await first.ConnectAsync(listener.LocalEndPoint!, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var accepted = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                if (Equals(accepted.RemoteEndPoint, first.LocalEndPoint))
                {
                    accepted.NoDelay = true;
                    return (first, accepted);
                }

                // Another local process raced to the one-off port: not ours.
                accepted.Dispose();
            }
        }
        catch
        {
            first.Dispose();
            throw;
        }
    }
}
