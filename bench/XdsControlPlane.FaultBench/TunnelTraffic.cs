using System.Net;
using System.Net.Sockets;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// Traffic through a local-connect tunnel: an echo service on loopback (the laptop's service) and a loop that every
/// <c>interval</c> opens a connection to the broker's endpoint for the workload, sends 1 KiB, reads it back and closes.
/// Counts the round trips that worked and the ones that failed.
/// </summary>
internal sealed class TunnelTraffic : IAsyncDisposable
{
    private const int Size = 1024;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private Task _sending = Task.CompletedTask;
    private long _ok;
    private long _failed;

    public TunnelTraffic()
    {
        _listener.Start();
        _accepting = AcceptAsync(_stop.Token);
    }

    /// <summary>The echo service's port.</summary>
    public int EchoPort => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public long Ok => Interlocked.Read(ref _ok);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Starts sending to <paramref name="target"/> every <paramref name="interval"/>.</summary>
    public void Start(IPEndPoint target, TimeSpan interval) => _sending = SendAsync(target, interval, _stop.Token);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await Task.WhenAll(_accepting, _sending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task SendAsync(IPEndPoint target, TimeSpan interval, CancellationToken cancellationToken)
    {
        var payload = new byte[Size];
        Random.Shared.NextBytes(payload);
        using var timer = new PeriodicTimer(interval);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(TimeSpan.FromSeconds(10));
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(target, deadline.Token);
                await socket.SendAsync(payload, deadline.Token);
                var back = new byte[Size];
                var read = 0;
                while (read < Size)
                {
                    var n = await socket.ReceiveAsync(back.AsMemory(read), deadline.Token);
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                }

                if (read == Size && back.AsSpan().SequenceEqual(payload))
                {
                    Interlocked.Increment(ref _ok);
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref _failed);
            }
        }
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = EchoAsync(socket, cancellationToken);
        }
    }

    private static async Task EchoAsync(Socket socket, CancellationToken cancellationToken)
    {
        using (socket)
        {
            var buffer = new byte[Size];
            try
            {
                int n;
                while ((n = await socket.ReceiveAsync(buffer, cancellationToken)) > 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, n), cancellationToken);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                // the client went away, or the run ended
            }
        }
    }
}
