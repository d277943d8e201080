using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace XdsControlPlane.Server;

/// <summary>
/// Wraps Kestrel's transport so that a listener bound on a <see cref="BulkEndPoint"/> creates its memory pools as
/// <see cref="BulkMemoryPool"/>: the transport asks the host's <see cref="IMemoryPoolFactory{T}"/> (here
/// <see cref="BulkMemoryPoolFactory"/>) for its pools while it binds, and the factory answers with large blocks inside
/// that bind only. Every other listener keeps Kestrel's pool. When <paramref name="bulkTransport"/> is given, bulk
/// listeners are bound on it instead of <paramref name="transport"/> (see <see cref="InlineTransport"/>).
/// </summary>
internal sealed class BulkListenerFactory(IConnectionListenerFactory transport, IConnectionListenerFactory? bulkTransport = null) : IConnectionListenerFactory
{
    private int _inlineBinds;

    /// <summary>Listeners bound on the inline transport so far (the tunnel listener, when the host uses Kestrel's socket transport).</summary>
    public int InlineBinds => Volatile.Read(ref _inlineBinds);

    /// <summary>
    /// Kestrel's socket transport, configured as the host configured its own, but with
    /// <see cref="SocketTransportOptions.UnsafePreferInlineScheduling"/>: on a bulk listener's connections the code that
    /// runs when a read completes (Kestrel's pipe to the connection, then its HTTP/2 frame parser) runs on the thread
    /// the runtime handed the read to, instead of two more trips through the thread pool per read. Only Kestrel's own
    /// code runs there: gRPC calls still start on the thread pool, so the tunnel's code cannot block it. Scoped to the
    /// listener; the runtime's socket completions (a process-wide switch) are left alone.
    /// </summary>
    public static IConnectionListenerFactory InlineTransport(IServiceProvider provider)
    {
        // The factory makes a fresh instance with every configuration the host applied (its memory pool factory included).
        var options = provider.GetRequiredService<IOptionsFactory<SocketTransportOptions>>().Create(Options.DefaultName);
        options.UnsafePreferInlineScheduling = true;
        return new SocketTransportFactory(Options.Create(options), provider.GetRequiredService<ILoggerFactory>());
    }

    /// <inheritdoc />
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        // Set in this method's own execution context: it flows into the transport's bind and ends when it returns.
        var bulk = endpoint is BulkEndPoint;
        BulkMemoryPoolFactory.Binding.Value = bulk;
        if (bulk && bulkTransport is not null)
        {
            Interlocked.Increment(ref _inlineBinds);
            return await bulkTransport.BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
        }

        return await transport.BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
    }
}
