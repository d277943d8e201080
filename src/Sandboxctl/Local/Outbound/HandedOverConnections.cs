using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;

namespace Sandboxctl.Local.Outbound;

/// <summary>
/// A Kestrel transport whose connections are sockets accepted elsewhere: the exposed port's own listener accepts,
/// looks at the first bytes and hands HTTP connections over here, so Kestrel never listens itself (the port, its
/// "in use" error and raw TCP stay with <see cref="ExposedListener"/>).
/// </summary>
internal sealed class HandedOverConnections : IConnectionListenerFactory, IConnectionListenerFactorySelector, IConnectionListener
{
    private readonly Channel<Socket> _sockets = Channel.CreateBounded<Socket>(new BoundedChannelOptions(128) { SingleReader = true });
    private readonly SocketConnectionContextFactory _contexts = new(new SocketConnectionFactoryOptions(), NullLogger.Instance);

    /// <summary>The end point Kestrel is told to listen on.</summary>
    public EndPoint EndPoint { get; } = new HandedOverEndPoint();

    /// <summary>Gives <paramref name="socket"/> to Kestrel (which owns it from here), waiting while 128 are queued.</summary>
    public ValueTask HandOverAsync(Socket socket, CancellationToken cancellationToken) => _sockets.Writer.WriteAsync(socket, cancellationToken);

    /// <inheritdoc />
    public bool CanBind(EndPoint endpoint) => ReferenceEquals(endpoint, EndPoint);

    /// <inheritdoc />
    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) => ValueTask.FromResult<IConnectionListener>(this);

    /// <inheritdoc />
    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var socket = await _sockets.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return _contexts.Create(socket);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _sockets.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _sockets.Writer.TryComplete();
        while (_sockets.Reader.TryRead(out var socket))
        {
            socket.Dispose();
        }

        _contexts.Dispose();
        return ValueTask.CompletedTask;
    }

    private sealed class HandedOverEndPoint : EndPoint
    {
        public override string ToString() => "handed-over sockets";
    }
}
