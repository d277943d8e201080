using System.Net;
using System.Net.Sockets;

namespace XdsControlPlane.TunnelBench;

/// <summary>
/// Many idle connections to the <see cref="LaptopService"/> (directly or through the broker), each confirmed end to
/// end by the service's acknowledgement byte, held until disposed.
/// </summary>
internal sealed class IdleConnections : IDisposable
{
    private const int OpenAtOnce = 32;
    private readonly List<Socket> _sockets = [];

    /// <summary>Opens <paramref name="count"/> connections to <paramref name="target"/>, <see cref="OpenAtOnce"/> at a time.</summary>
    public static async Task<IdleConnections> OpenAsync(IPEndPoint target, int count, CancellationToken cancellationToken)
    {
        var idle = new IdleConnections();
        try
        {
            for (var opened = 0; opened < count; opened += OpenAtOnce)
            {
                var batch = await Task.WhenAll(Enumerable.Range(0, Math.Min(OpenAtOnce, count - opened)).Select(_ => OpenOneAsync(target, cancellationToken)));
                idle._sockets.AddRange(batch);
            }

            return idle;
        }
        catch
        {
            idle.Dispose();
            throw;
        }
    }

    public int Count => _sockets.Count;

    public void Dispose()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }

        _sockets.Clear();
    }

    private static async Task<Socket> OpenOneAsync(IPEndPoint target, CancellationToken cancellationToken)
    {
        var socket = await ThroughputProbe.ConnectAsync(target, LaptopMode.Idle, cancellationToken);
        try
        {
            var ack = new byte[1];
            if (!await LaptopService.ReceiveExactlyAsync(socket, ack, cancellationToken))
            {
                throw new IOException($"{target} closed an idle connection before it was acknowledged");
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
