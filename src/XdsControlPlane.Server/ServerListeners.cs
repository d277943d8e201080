using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using XdsControlPlane.Server.Webhook;

namespace XdsControlPlane.Server;

/// <summary>The server's Kestrel listeners (xDS, admin, tunnel broker, admission webhook), each tagged with its <see cref="ListenerKind"/>, xDS and tunnel with TLS when configured; their bound ports are known once the host started.</summary>
internal sealed class ServerListeners
{
    /// <summary>xDS over HTTP/2 (gRPC).</summary>
    public ListenOptions? Xds { get; private set; }

    /// <summary>The admin endpoints over HTTP/1.1.</summary>
    public ListenOptions? Admin { get; private set; }

    /// <summary>The tunnel broker over HTTP/2 (gRPC).</summary>
    public ListenOptions? Tunnel { get; private set; }

    /// <summary>The admission webhook over HTTPS (HTTP/1.1 and HTTP/2), or <see langword="null"/> when it is off.</summary>
    public ListenOptions? Webhook { get; private set; }

    /// <summary>
    /// Adds the listeners to <paramref name="kestrel"/> on <paramref name="address"/>, each admitting its connections
    /// through the gate <paramref name="gates"/> makes for its kind (none when null). A listener whose port is out of
    /// range is left out: validation on start reports it (<see cref="ListenerOptions.PortProblems"/>). The xDS and tunnel
    /// listeners serve TLS with the credentials <c>tls</c> gives for their kind (plaintext when it gives none, or is null).
    /// </summary>
    public void Listen(KestrelServerOptions kestrel, IPAddress address, XdsListenerOptions xds, AdminEndpointOptions admin, TunnelListenerOptions tunnel, WebhookListenerOptions webhook, WebhookCertificateStore certificates, Func<string, ConnectionGate>? gates = null, Func<string, ListenerTls.ListenerCredentials?>? tls = null)
    {
        _gates = gates;
        // Kestrel's HTTP/2 limits are per server, not per listener: the tunnel's larger windows apply to xDS streams too
        // (they bound what a connection may have in flight, as the defaults do).
        kestrel.Limits.Http2.InitialStreamWindowSize = XdsControlPlane.Tunnel.TunnelHttp2.StreamWindow;
        kestrel.Limits.Http2.InitialConnectionWindowSize = XdsControlPlane.Tunnel.TunnelHttp2.ConnectionWindow;
        // The agents' connections carry bulk traffic: their listener reads in large blocks (BulkListenerFactory).
        // Plaintext, it also takes raw lanes (RawLaneConnections): an agent's bulk lanes on plain TCP, without HTTP/2.
        var rawLanes = new RawLaneConnections(kestrel.ApplicationServices);
        Tunnel = Listen(kestrel, address, tunnel, HttpProtocols.Http2, ListenerKind.Tunnel, tls?.Invoke(ListenerKind.Tunnel) is { } tunnelTls ? tunnelTls.Secure : listen => listen.Use(next => connection => rawLanes.OnConnectionAsync(connection, next)), bulk: true);
        Xds = Listen(kestrel, address, xds, HttpProtocols.Http2, ListenerKind.Xds, tls?.Invoke(ListenerKind.Xds) is { } xdsTls ? xdsTls.Secure : null);
        Admin = Listen(kestrel, address, admin, HttpProtocols.Http1, ListenerKind.Admin);

        // Each TLS handshake takes the certificate in force: a reload reaches new connections, open ones keep theirs.
        Webhook = webhook.Enabled
            ? Listen(kestrel, address, webhook, HttpProtocols.Http1AndHttp2, ListenerKind.Webhook, listen =>
            {
                var https = new HttpsConnectionAdapterOptions { HandshakeTimeout = TimeSpan.FromSeconds(10) };
                certificates.ServeOn(https);
                listen.UseHttps(https);
            })
            : null;
    }

    private Func<string, ConnectionGate>? _gates;

    private ListenOptions? Listen(KestrelServerOptions kestrel, IPAddress address, ListenerOptions options, HttpProtocols protocols, string kind, Action<ListenOptions>? secure = null, bool bulk = false)
    {
        if (options.PortProblems().Any())
        {
            return null;
        }

        ListenOptions? bound = null;
        kestrel.Listen(bulk ? new BulkEndPoint(address, options.Port) : new IPEndPoint(address, options.Port), listen =>
        {
            listen.Protocols = protocols;
            ListenerKind.Tag(listen, kind);
            if (_gates?.Invoke(kind) is { } gate)
            {
                // Before TLS: a flood is refused before it costs a handshake.
                listen.Use(next => connection => gate.OnConnectionAsync(connection, next));
            }

            secure?.Invoke(listen);
            bound = listen;
        });
        return bound;
    }
}
