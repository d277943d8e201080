using System.Net;
using Microsoft.AspNetCore.Connections;

namespace XdsControlPlane.Server;

/// <summary>
/// Wraps Kestrel's transport so that a listener bound on a <see cref="BulkEndPoint"/> creates its memory pools as
/// <see cref="BulkMemoryPool"/>: the transport asks the host's <see cref="IMemoryPoolFactory{T}"/> (here
/// <see cref="BulkMemoryPoolFactory"/>) for its pools while it binds, and the factory answers with large blocks inside
/// that bind only. Every other listener keeps Kestrel's pool.
/// </summary>
internal sealed class BulkListenerFactory(IConnectionListenerFactory transport) : IConnectionListenerFactory
{
    /// <inheritdoc />
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        // Set in this method's own execution context: it flows into the transport's bind and ends when it returns.
        BulkMemoryPoolFactory.Binding.Value = endpoint is BulkEndPoint;
        return await transport.BindAsync(endpoint, cancellationToken).ConfigureAwait(false);
    }
}
