using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace XdsControlPlane.Server;

/// <summary>The server's three Kestrel listeners, each tagged with its <see cref="ListenerRole"/>; their bound ports are known once the host started.</summary>
internal sealed class ServerListeners
{
    /// <summary>xDS over HTTP/2 (gRPC).</summary>
    public ListenOptions? Xds { get; private set; }

    /// <summary>The admin endpoints over HTTP/1.1.</summary>
    public ListenOptions? Admin { get; private set; }

    /// <summary>The tunnel broker over HTTP/2 (gRPC).</summary>
    public ListenOptions? Tunnel { get; private set; }

    /// <summary>Adds the three listeners to <paramref name="kestrel"/> on <paramref name="address"/>.</summary>
    public void Listen(KestrelServerOptions kestrel, IPAddress address, int xdsPort, int adminPort, int tunnelPort)
    {
        kestrel.Listen(address, tunnelPort, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            ListenerRole.Tag(listen, ListenerRole.Tunnel);
            Tunnel = listen;
        });
        kestrel.Listen(address, xdsPort, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            ListenerRole.Tag(listen, ListenerRole.Xds);
            Xds = listen;
        });
        kestrel.Listen(address, adminPort, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            ListenerRole.Tag(listen, ListenerRole.Admin);
            Admin = listen;
        });
    }
}
