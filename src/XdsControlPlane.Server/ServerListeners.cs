using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace XdsControlPlane.Server;

/// <summary>The server's three Kestrel listeners, each tagged with its <see cref="ListenerKind"/>; their bound ports are known once the host started.</summary>
internal sealed class ServerListeners
{
    /// <summary>xDS over HTTP/2 (gRPC).</summary>
    public ListenOptions? Xds { get; private set; }

    /// <summary>The admin endpoints over HTTP/1.1.</summary>
    public ListenOptions? Admin { get; private set; }

    /// <summary>The tunnel broker over HTTP/2 (gRPC).</summary>
    public ListenOptions? Tunnel { get; private set; }

    /// <summary>
    /// Adds the three listeners to <paramref name="kestrel"/> on <paramref name="address"/>. A listener whose port is out
    /// of range is left out: validation on start reports it (<see cref="ListenerOptions.PortProblems"/>).
    /// </summary>
    public void Listen(KestrelServerOptions kestrel, IPAddress address, XdsListenerOptions xds, AdminEndpointOptions admin, TunnelListenerOptions tunnel)
    {
        // Kestrel's HTTP/2 limits are per server, not per listener: the tunnel's larger windows apply to xDS streams too
        // (they bound what a connection may have in flight, as the defaults do).
        kestrel.Limits.Http2.InitialStreamWindowSize = XdsControlPlane.Tunnel.TunnelHttp2.StreamWindow;
        kestrel.Limits.Http2.InitialConnectionWindowSize = XdsControlPlane.Tunnel.TunnelHttp2.ConnectionWindow;
        Tunnel = Listen(kestrel, address, tunnel, HttpProtocols.Http2, ListenerKind.Tunnel);
        Xds = Listen(kestrel, address, xds, HttpProtocols.Http2, ListenerKind.Xds);
        Admin = Listen(kestrel, address, admin, HttpProtocols.Http1, ListenerKind.Admin);
    }

    private static ListenOptions? Listen(KestrelServerOptions kestrel, IPAddress address, ListenerOptions options, HttpProtocols protocols, string kind)
    {
        if (options.PortProblems().Any())
        {
            return null;
        }

        ListenOptions? bound = null;
        kestrel.Listen(address, options.Port, listen =>
        {
            listen.Protocols = protocols;
            ListenerKind.Tag(listen, kind);
            bound = listen;
        });
        return bound;
    }
}
