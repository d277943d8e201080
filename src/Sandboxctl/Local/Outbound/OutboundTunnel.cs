using System.Net.Sockets;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Local.Outbound;

/// <summary>
/// The tunnel stream an exposed port's proxied connections go through now, and the routing key its Welcome gave.
/// A connection opened while the agent is between streams waits for the next one (as connections wait in the
/// listener's backlog), until the request is cancelled.
/// </summary>
internal sealed class OutboundTunnel(ExposedService exposed)
{
    private readonly Lock _gate = new();
    private TaskCompletionSource<TunnelMultiplexer> _attached = NewAttachment();
    private string? _routingKey;

    /// <summary>The routing key of the current (or last) stream; null before the first.</summary>
    public string? RoutingKey => Volatile.Read(ref _routingKey);

    /// <summary>Carries new connections through <paramref name="mux"/> until the returned handle is disposed (the stream ended).</summary>
    public IDisposable Attach(TunnelMultiplexer mux, string routingKey)
    {
        ArgumentNullException.ThrowIfNull(mux);
        ArgumentException.ThrowIfNullOrEmpty(routingKey);
        Volatile.Write(ref _routingKey, routingKey);
        lock (_gate)
        {
            if (_attached.Task.IsCompleted)
            {
                _attached = NewAttachment();
            }

            _attached.SetResult(mux);
        }

        return new Detach(this, mux);
    }

    /// <summary>Opens a connection to the exposed Service through the tunnel: the stream the HTTP client reads and writes.</summary>
    public async ValueTask<Stream> OpenAsync(CancellationToken cancellationToken)
    {
        Task<TunnelMultiplexer> attached;
        lock (_gate)
        {
            attached = _attached.Task;
        }

        var mux = await attached.WaitAsync(cancellationToken).ConfigureAwait(false);
        var (tunnelEnd, httpEnd) = await SocketPair.CreateAsync(cancellationToken).ConfigureAwait(false);
        if (!mux.Open(tunnelEnd, new Open { TargetService = exposed.Target, TargetPort = (uint)exposed.Port }))
        {
            httpEnd.Dispose();
            throw new HttpRequestException($"--expose {exposed.Service}:{exposed.Port}: the tunnel is at its connection limit, or reconnecting");
        }

        return new NetworkStream(httpEnd, ownsSocket: true);
    }

    private static TaskCompletionSource<TunnelMultiplexer> NewAttachment() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Release(TunnelMultiplexer mux)
    {
        lock (_gate)
        {
            if (_attached.Task.IsCompletedSuccessfully && ReferenceEquals(_attached.Task.Result, mux))
            {
                _attached = NewAttachment();
            }
        }
    }

    private sealed class Detach(OutboundTunnel tunnel, TunnelMultiplexer mux) : IDisposable
    {
        public void Dispose() => tunnel.Release(mux);
    }
}
