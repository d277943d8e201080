using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using k8s;

namespace Sandboxctl.PortForward;

/// <summary>
/// One local TCP connection forwarded over its own port-forward WebSocket (<c>v4.channel.k8s.io</c>: channel 0 data,
/// channel 1 errors, each starting with the port). Bytes flow both ways. When the local side half-closes, the pod
/// side keeps sending until it is done (v4 cannot pass the half-close on); when the pod side ends, the local side
/// gets end-of-stream. What the pod writes on the error channel is returned.
/// </summary>
internal sealed class PortForwardConnection(Socket local, WebSocket webSocket)
{
    private const byte DataChannel = 0;
    private const byte ErrorChannel = 1;
    private const int BufferSize = 64 * 1024;

    private volatile bool _localFailed;

    /// <summary>Forwards until either side ends; the outcome says whether the WebSocket failed and what the error channel said.</summary>
    public async Task<PortForwardOutcome> RunAsync(CancellationToken cancellationToken)
    {
        using var demuxer = new StreamDemuxer(webSocket, StreamType.PortForward, ownsSocket: true);

        // Ask for the channels before the demuxer reads anything, or it drops their first frames.
        using var fromPod = demuxer.GetStream(DataChannel, (byte?)null);
        using var errors = demuxer.GetStream(ErrorChannel, (byte?)null);
        demuxer.Start();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var abort = stop.Token.Register(webSocket.Abort);

        // The demuxer's streams block the reading thread, so each read loop gets a thread of its own rather than
        // holding thread-pool threads while a connection is idle.
        var podToLocal = Dedicated(() => CopyToLocal(fromPod));
        var errorText = Dedicated(() => ReadToEnd(errors));
        var localToPod = LocalToPodAsync(demuxer, stop);

        var podEnded = await podToLocal.ConfigureAwait(false);
        if (podEnded)
        {
            TryShutdownSend();
        }

        // The pod side failed when its WebSocket ended without a normal close, unless we ended it ourselves.
        var failed = podEnded && !cancellationToken.IsCancellationRequested && !_localFailed && webSocket.CloseStatus != WebSocketCloseStatus.NormalClosure;
        await stop.CancelAsync().ConfigureAwait(false);
        await localToPod.ConfigureAwait(false);
        return new PortForwardOutcome(failed, await errorText.ConfigureAwait(false));
    }

    private static Task<T> Dedicated<T>(Func<T> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Copies the pod's bytes to the local socket; true when the pod side ended, false when the local side failed.</summary>
    private bool CopyToLocal(Stream fromPod)
    {
        var buffer = new byte[BufferSize];
        try
        {
            int read;
            while ((read = fromPod.Read(buffer, 0, buffer.Length)) > 0)
            {
                local.Send(buffer.AsSpan(0, read));
            }

            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            _localFailed = true;
            webSocket.Abort();
            return false;
        }
    }

    private static string ReadToEnd(Stream errors)
    {
        using var reader = new StreamReader(errors, Encoding.UTF8);
        return reader.ReadToEnd().Trim();
    }

    /// <summary>Copies the local bytes to the pod until the local side half-closes, fails, or the connection stops.</summary>
    private async Task LocalToPodAsync(StreamDemuxer demuxer, CancellationTokenSource stop)
    {
        var buffer = new byte[BufferSize];
        try
        {
            int read;
            while ((read = await local.ReceiveAsync(buffer, stop.Token).ConfigureAwait(false)) > 0)
            {
                await demuxer.Write(DataChannel, buffer, 0, read, stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The local side went away: end the connection (the pod side ends when its WebSocket does).
            _localFailed = true;
            webSocket.Abort();
        }
        catch (Exception e) when (e is WebSocketException or IOException)
        {
            // The pod side went away; the copy to the local side sees it end.
        }
    }

    private void TryShutdownSend()
    {
        try
        {
            local.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The local side is gone already.
        }
    }
}

/// <summary>How a forwarded connection ended: whether its WebSocket failed (the pod may be gone), and the pod's error message.</summary>
internal sealed record PortForwardOutcome(bool WebSocketFailed, string Error);
