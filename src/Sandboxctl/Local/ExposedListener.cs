using System.Net;
using System.Net.Sockets;
using Sandboxctl.PortForward;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// The local listener of one <c>--expose SVC:PORT=LOCALPORT</c>: connections accepted on <c>127.0.0.1:LOCALPORT</c> are
/// opened through the current tunnel stream to the in-cluster Service; HTTP ones get the routing key added
/// (<see cref="RoutingKeyInjector"/>). Between streams the listener stays open and connections wait in its backlog.
/// </summary>
internal sealed class ExposedListener : IDisposable
{
    private readonly TcpListener _listener;

    private ExposedListener(ExposedService exposed, TcpListener listener)
    {
        Exposed = exposed;
        _listener = listener;
    }

    /// <summary>What is exposed.</summary>
    public ExposedService Exposed { get; }

    /// <summary><c>http</c>, <c>grpc</c>, <c>tcp</c>, or empty when not known (manifests mode: HTTP/1.x is recognised by its first bytes).</summary>
    public string Protocol { get; set; } = "";

    /// <summary>The local port listened on.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Listens on the local port of <paramref name="exposed"/>; a busy port exits 1 naming its holder and a free alternative.</summary>
    public static ExposedListener Listen(ExposedService exposed)
    {
        ArgumentNullException.ThrowIfNull(exposed);
        var listener = LocalPortProbe.TryListen(IPAddress.Loopback, exposed.LocalPort);
        if (listener is null)
        {
            var owner = LocalPortProbe.Owner(exposed.LocalPort);
            var free = LocalPortProbe.NearestFree(IPAddress.Loopback, exposed.LocalPort);
            throw new CliException(
                $"local port {exposed.LocalPort} (--expose {exposed.Service}:{exposed.Port}={exposed.LocalPort}) is in use{(owner is null ? "" : $" by {owner}")}.",
                free is null ? "Stop the process that holds it, or pick another local port." : $"Port {free} is free: use --expose {exposed.Service}:{exposed.Port}={free}.",
                ExitCodes.UserError);
        }

        return new ExposedListener(exposed, listener);
    }

    /// <summary>Opens every accepted connection through <paramref name="mux"/> until cancelled (the stream ended).</summary>
    public async Task AcceptAsync(TunnelMultiplexer mux, string routingKey, AgentReporter reporter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mux);
        ArgumentNullException.ThrowIfNull(reporter);
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
                socket.NoDelay = true;
                IByteTransform? transform = Protocol switch
                {
                    "http" => new RoutingKeyInjector(routingKey, why => reporter.Warning($"--expose {Exposed.Service}:{Exposed.Port}: {why}")),
                    "" => new RoutingKeyInjector(routingKey),
                    _ => null,
                };
                if (!mux.Open(socket, new Open { TargetService = Exposed.Target, TargetPort = (uint)Exposed.Port }, transform))
                {
                    reporter.Warning($"--expose {Exposed.Service}:{Exposed.Port}: refused a local connection (the tunnel is at its connection limit, or reconnecting)");
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();
}
