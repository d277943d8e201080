using System.Net;
using System.Net.Sockets;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// Dials the laptop's service for a connection the broker opens: Service port <c>REMOTE</c> goes to
/// <c>localhost:LOCAL</c> of its <c>--port</c> (127.0.0.1 first, then ::1, as apps bind either). Nothing listening
/// closes the connection with <see cref="CloseReason.DialFailed"/> naming the port, and warns (once per port until it works again).
/// </summary>
internal sealed class LocalDial(IReadOnlyList<ServedPort> ports, AgentReporter reporter)
{
    private readonly HashSet<int> _warned = [];
    private readonly Lock _gate = new();

    /// <summary>Whether something accepts connections on <c>localhost:<paramref name="port"/></c> now.</summary>
    public static async Task<bool> IsListeningAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var socket = await ConnectAsync(port, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The dial the multiplexer calls for an inbound Open.</summary>
    public async Task<Socket> DialAsync(Open open, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(open);
        var served = ports.FirstOrDefault(p => p.RemotePort == open.Port)
            ?? throw new TunnelDialException(CloseReason.DialFailed, $"this agent serves no Service port {open.Port}");
        try
        {
            var socket = await ConnectAsync(served.LocalPort, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _warned.Remove(served.LocalPort);
            }

            return socket;
        }
        catch (SocketException e)
        {
            var message = $"nothing listens on localhost:{served.LocalPort} (--port {served.LocalPort}:{served.RemotePort})";
            bool first;
            lock (_gate)
            {
                first = _warned.Add(served.LocalPort);
            }

            if (first)
            {
                reporter.Warning($"a request for Service port {served.RemotePort} found {message}: {e.SocketErrorCode}; is your service still running?");
            }

            throw new TunnelDialException(CloseReason.DialFailed, message);
        }
    }

    private static async Task<Socket> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        SocketException? last = null;
        foreach (var address in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback })
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }
}
