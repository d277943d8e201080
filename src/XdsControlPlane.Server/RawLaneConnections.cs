using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using XdsControlPlane.Tunnel;

namespace XdsControlPlane.Server;

/// <summary>
/// Lets raw lanes (<see cref="RawLane"/>) in on the plaintext tunnel listener: a connection whose first bytes are the
/// raw lane's preface is served by the broker (<see cref="TunnelBrokerService.ServeRawLaneAsync"/>) straight on the
/// connection's pipes; any other — an HTTP/2 client's starts <c>PRI *</c> — goes on to Kestrel's HTTP/2 untouched,
/// its bytes left unread. A connection that sends nothing within the broker's Hello timeout goes on to HTTP/2 too,
/// whose own timeouts then apply. Runs after the connection gate, so raw lanes count against the listener's connection limits.
/// Only on a plaintext listener: behind TLS the first bytes are a handshake, and raw lanes are not offered. A raw lane
/// ends when the host begins to stop (its agent's lanes and stream then come back to another replica or this one restarted).
/// </summary>
/// <param name="services">The host's services: the broker and its options (<see cref="TunnelBrokerOptions.HelloTimeout"/> is the wait), resolved at the first connection, once the host is built.</param>
internal sealed class RawLaneConnections(IServiceProvider services)
{
    private readonly Lazy<TunnelBrokerService> _broker = new(services.GetRequiredService<TunnelBrokerService>);
    private readonly Lazy<TimeSpan> _prefaceWait = new(() => services.GetRequiredService<TunnelBrokerOptions>().HelloTimeout);
    private readonly Lazy<IHostApplicationLifetime> _lifetime = new(services.GetRequiredService<IHostApplicationLifetime>);

    /// <summary>Serves the connection as a raw lane when it starts with the preface, else hands it to <paramref name="next"/>.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(next);
        var start = await ReadPrefaceAsync(connection).ConfigureAwait(false);
        if (start == Start.Gone)
        {
            // Reset before it said what it is: nothing to serve, nothing to hand on.
            return;
        }

        if (start == Start.RawLane)
        {
            // The preface is the raw lane's request: the gate's first-request timeout is met (the broker's Hello timeout
            // takes over), so a raw lane is not closed as a silent connection.
            if (connection.Items.TryGetValue(FirstRequestMark.Key, out var item) && item is FirstRequestMark mark)
            {
                mark.MarkSeen();
            }

            // Ended when the host stops, too: Kestrel's graceful shutdown knows no raw lane, and would wait out its
            // shutdown timeout for the connection to close by itself.
            using var ending = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, _lifetime.Value.ApplicationStopping);
            await _broker.Value.ServeRawLaneAsync(connection.Transport.Input, connection.Transport.Output, PeerOf(connection.RemoteEndPoint), ending.Token).ConfigureAwait(false);
            return;
        }

        await next(connection).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the connection starts with the preface (then it is consumed), or something else (then nothing is
    /// consumed or examined, so the next reader gets every byte at once), or was reset before either was known.
    /// </summary>
    private async Task<Start> ReadPrefaceAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        wait.CancelAfter(_prefaceWait.Value);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return Start.Other;
            }
            catch (IOException)
            {
                // Reset by the peer (Kestrel's ConnectionResetException): a port-forward cut, a client gone.
                return Start.Gone;
            }

            var buffer = result.Buffer;
            var preface = RawLane.StartsWithPreface(buffer);
            if (preface is true)
            {
                input.AdvanceTo(buffer.GetPosition(RawLane.Preface.Length));
                return Start.RawLane;
            }

            if (preface is false || result.IsCompleted || result.IsCanceled)
            {
                input.AdvanceTo(buffer.Start);
                return Start.Other;
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private enum Start
    {
        /// <summary>The raw lane's preface came.</summary>
        RawLane,

        /// <summary>Other bytes (HTTP/2's preface), or none within the wait: for HTTP/2.</summary>
        Other,

        /// <summary>Reset before its first bytes told which.</summary>
        Gone,
    }

    /// <summary>The peer as Grpc.AspNetCore names it (<c>ipv4:1.2.3.4:5</c>, <c>ipv6:[::1]:5</c>), so the broker's limits count a raw lane's connection as they count an HTTP/2 one.</summary>
    internal static string PeerOf(EndPoint? remote) => remote switch
    {
        IPEndPoint { AddressFamily: AddressFamily.InterNetwork } ip => $"ipv4:{ip.Address}:{ip.Port}",
        IPEndPoint ip => $"ipv6:[{ip.Address}]:{ip.Port}",
        null => "unknown",
        _ => remote.ToString() ?? "unknown",
    };
}
