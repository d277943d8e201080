using System.Net;
using System.Net.Sockets;
using Sandboxctl.Local.Outbound;
using Sandboxctl.PortForward;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local;

/// <summary>
/// The local listeners of one <c>--expose SVC:PORT=LOCALPORT</c>, on <c>127.0.0.1:LOCALPORT</c> and <c>[::1]:LOCALPORT</c>
/// (skipped when the machine has no IPv6 loopback): each accepted connection is looked at (<see cref="FirstBytes"/>);
/// HTTP/1.x and h2c (gRPC) go to the <see cref="OutboundProxy"/>, which adds the routing key to every request and
/// forwards it through the tunnel; anything else — and every connection of a port declared TCP — is opened through
/// the current tunnel stream to the in-cluster Service as raw bytes. Between streams the listeners stay open and
/// connections wait in their backlog.
/// </summary>
internal sealed class ExposedListener : IDisposable
{
    private readonly IReadOnlyList<TcpListener> _listeners;
    private readonly OutboundTunnel _tunnel;
    private OutboundProxy? _proxy;

    private ExposedListener(ExposedService exposed, IReadOnlyList<TcpListener> listeners)
    {
        Exposed = exposed;
        _listeners = listeners;
        _tunnel = new OutboundTunnel(exposed);
    }

    /// <summary>What is exposed.</summary>
    public ExposedService Exposed { get; }

    /// <summary><c>http</c>, <c>grpc</c>, <c>tcp</c>, or empty when not known (manifests mode: HTTP is recognised by its first bytes).</summary>
    public string Protocol { get; set; } = "";

    /// <summary>
    /// How long a connection to a port of unknown protocol may stay silent before it is carried as raw bytes (a
    /// protocol whose server speaks first, such as MySQL or SMTP, waits this long once per connection).
    /// </summary>
    public TimeSpan FirstBytesWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The local port listened on.</summary>
    public int Port => ((IPEndPoint)_listeners[0].LocalEndpoint).Port;

    /// <summary>Listens on the local port of <paramref name="exposed"/>; a busy port exits 1 naming its holder and a free alternative.</summary>
    public static ExposedListener Listen(ExposedService exposed)
    {
        ArgumentNullException.ThrowIfNull(exposed);
        var v4 = LocalPortProbe.TryListen(IPAddress.Loopback, exposed.LocalPort) ?? throw InUse(exposed);
        try
        {
            var port = ((IPEndPoint)v4.LocalEndpoint).Port;
            return TryListenOnIPv6Loopback(port, out var v6) switch
            {
                true => new ExposedListener(exposed, v6 is null ? [v4] : [v4, v6]),
                false => throw InUse(exposed),
            };
        }
        catch
        {
            v4.Dispose();
            throw;
        }
    }

    /// <summary>Takes the connections of every listener while <paramref name="mux"/> (a tunnel stream) lasts: until cancelled (the stream ended).</summary>
    public async Task AcceptAsync(TunnelMultiplexer mux, string routingKey, AgentReporter reporter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mux);
        ArgumentNullException.ThrowIfNull(reporter);
        using var attached = _tunnel.Attach(mux, routingKey);
        try
        {
            if (Protocol != "tcp")
            {
                _proxy ??= new OutboundProxy(Exposed, _tunnel, reporter.Warning);
                await _proxy.StartAsync(cancellationToken).ConfigureAwait(false);
            }

            await Task.WhenAll(_listeners.Select(l => AcceptFromAsync(l, mux, reporter, cancellationToken))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        _proxy?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static CliException InUse(ExposedService exposed)
    {
        var owner = LocalPortProbe.Owner(exposed.LocalPort);
        var free = LocalPortProbe.NearestFree(IPAddress.Loopback, exposed.LocalPort);
        return new CliException(
            $"local port {exposed.LocalPort} (--expose {exposed.Service}:{exposed.Port}={exposed.LocalPort}) is in use{(owner is null ? "" : $" by {owner}")}.",
            free is null ? "Stop the process that holds it, or pick another local port." : $"Port {free} is free: use --expose {exposed.Service}:{exposed.Port}={free}.",
            ExitCodes.UserError);
    }

    /// <summary>Listens on <c>[::1]:port</c>; a machine without IPv6 loopback gets no listener (true, null); false when the port is in use there.</summary>
    private static bool TryListenOnIPv6Loopback(int port, out TcpListener? listener)
    {
        listener = null;
        if (!Socket.OSSupportsIPv6)
        {
            return true;
        }

        var v6 = new TcpListener(IPAddress.IPv6Loopback, port);
        try
        {
            v6.Start();
            listener = v6;
            return true;
        }
        catch (SocketException e)
        {
            v6.Dispose();
            return e.SocketErrorCode != SocketError.AddressAlreadyInUse;
        }
    }

    private async Task AcceptFromAsync(TcpListener listener, TunnelMultiplexer mux, AgentReporter reporter, CancellationToken cancellationToken)
    {
        while (true)
        {
            var socket = await listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            socket.NoDelay = true;
            _ = RouteAsync(socket, mux, reporter, cancellationToken);
        }
    }

    /// <summary>Sends <paramref name="socket"/> to the proxy when it speaks HTTP, else through <paramref name="mux"/> untouched.</summary>
    private async Task RouteAsync(Socket socket, TunnelMultiplexer mux, AgentReporter reporter, CancellationToken cancellationToken)
    {
        try
        {
            var kind = Protocol == "tcp" ? FirstBytesKind.Other
                : await FirstBytes.PeekAsync(socket, Protocol.Length == 0 ? FirstBytesWait : null, cancellationToken).ConfigureAwait(false);
            if (kind is FirstBytesKind.Http1 or FirstBytesKind.Http2 && _proxy is { } proxy)
            {
                await proxy.HandOverAsync(socket, kind, cancellationToken).ConfigureAwait(false);
            }
            else if (!mux.Open(socket, new Open { TargetService = Exposed.Target, TargetPort = (uint)Exposed.Port }))
            {
                reporter.Warning($"--expose {Exposed.Service}:{Exposed.Port}: refused a local connection (the tunnel is at its connection limit, or reconnecting)");
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or System.Threading.Channels.ChannelClosedException)
        {
            // The stream ended or the app went away before its connection was placed.
            socket.Dispose();
        }
    }
}
