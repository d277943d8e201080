using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace XdsControlPlane.Server;

/// <summary>
/// Wraps Kestrel's transport so no listener accepts a connection while the server holds its connection budget
/// (<see cref="ConnectionLimitOptions.ConnectionBudget"/>, every listener together): the accept loop waits for a
/// slot, so a flood waits in the kernel's backlog (and is refused there) instead of taking the file descriptors
/// the runtime, reloads and the API server client need. Kestrel's own connection limit is checked after the
/// accept, when the descriptor is already spent, and its accept loop does not wait for the check, so a burst
/// overshoots it. A slot is given back when Kestrel disposes the connection.
/// </summary>
internal sealed class BudgetedListenerFactory(IConnectionListenerFactory transport, ConnectionBudget budget) : IConnectionListenerFactory
{
    /// <inheritdoc />
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        new BudgetedListener(await transport.BindAsync(endpoint, cancellationToken).ConfigureAwait(false), budget);

    private sealed class BudgetedListener(IConnectionListener inner, ConnectionBudget budget) : IConnectionListener
    {
        public EndPoint EndPoint => inner.EndPoint;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            await budget.WaitAsync(cancellationToken).ConfigureAwait(false);
            ConnectionContext? accepted = null;
            try
            {
                accepted = await inner.AcceptAsync(cancellationToken).ConfigureAwait(false);
                return accepted is null ? null : new BudgetedConnection(accepted, budget);
            }
            finally
            {
                if (accepted is null)
                {
                    budget.Release();
                }
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    /// <summary>The transport's connection, giving its budget slot back once when disposed.</summary>
    private sealed class BudgetedConnection(ConnectionContext inner, ConnectionBudget budget) : ConnectionContext
    {
        private int _released;

        public override string ConnectionId { get => inner.ConnectionId; set => inner.ConnectionId = value; }

        public override IFeatureCollection Features => inner.Features;

        public override IDictionary<object, object?> Items { get => inner.Items; set => inner.Items = value; }

        public override System.IO.Pipelines.IDuplexPipe Transport { get => inner.Transport; set => inner.Transport = value; }

        public override EndPoint? LocalEndPoint { get => inner.LocalEndPoint; set => inner.LocalEndPoint = value; }

        public override EndPoint? RemoteEndPoint { get => inner.RemoteEndPoint; set => inner.RemoteEndPoint = value; }

        public override CancellationToken ConnectionClosed { get => inner.ConnectionClosed; set => inner.ConnectionClosed = value; }

        public override void Abort(ConnectionAbortedException abortReason) => inner.Abort(abortReason);

        public override void Abort() => inner.Abort();

        public override async ValueTask DisposeAsync()
        {
            try
            {
                await inner.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                if (Interlocked.Exchange(ref _released, 1) == 0)
                {
                    budget.Release();
                }

                await base.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
