using System.Buffers;
using System.Net.Sockets;
using System.Threading.Channels;
using Google.Protobuf;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// One tunnelled TCP connection of a <see cref="TunnelMultiplexer"/>: copies its socket's bytes to the peer while
/// the peer's window allows, and the peer's bytes to its socket, granting window back as they are written. Half-closes
/// pass through in both directions; a failure resets the socket and sends the peer a Close with the reason.
/// </summary>
internal sealed class TunnelConnection
{
    private readonly TunnelMultiplexer _mux;
    private readonly CancellationTokenSource _stop;
    private readonly InboundBytes _inbound;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private long _sendCredit;
    private TaskCompletionSource? _creditWaiter;
    private int _closed;
    private volatile bool _peerDone;
    private volatile bool _reset;

    private readonly IByteTransform? _outbound;

    public TunnelConnection(TunnelMultiplexer mux, ulong id, TunnelLane lane, IByteTransform? outbound = null)
    {
        _mux = mux;
        Id = id;
        Lane = lane;
        _outbound = outbound;
        _sendCredit = mux.PeerWindow;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(mux.Stopping);
        _inbound = new InboundBytes(mux.Limits.ReceiveWindow, mux.Budget, increment => lane.Frames.QueueControl(new Frame { Window = new Window { ConnectionId = id, Increment = increment } }));
    }

    public ulong Id { get; }

    /// <summary>The stream all of this connection's frames travel on.</summary>
    public TunnelLane Lane { get; }

    /// <summary>Completes when the connection is over and its socket closed.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Cancelled when the connection ends.</summary>
    public CancellationToken Stopping => _stop.Token;

    public void Start(Task<Socket> socket) => _ = RunAsync(socket);

    /// <summary>
    /// Queues the peer's bytes for the socket; false when the peer sent more than its window allows (or after its
    /// half-close). Bytes the socket does not take at once while the stream's buffer budget is spent end the connection
    /// with <see cref="CloseReason.Limit"/>.
    /// </summary>
    public bool Deliver(ByteString payload)
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            // Frames cross a Close: what the peer still sends is dropped.
            return true;
        }

        switch (_inbound.Deliver(payload.Memory, out var failure))
        {
            case Delivery.OverWindow:
                return false;
            case Delivery.OverBudget:
                var budget = _mux.Budget;
                _mux.OnOverBudget();
                Fail(CloseReason.Limit, $"connection {Id}: its reader is not keeping up and the tunnel stream's buffer budget is spent ({budget.Held} of {budget.Limit} bytes held for connections whose readers are behind)");
                return true;
            case Delivery.Failed:
                Fail(CloseReason.Reset, failure!.Message);
                return true;
            default:
                return true;
        }
    }

    /// <summary>The peer will send nothing more: once the queued bytes are written, the socket's sending side is shut down.</summary>
    public void PeerHalfClosed() => _inbound.End();

    /// <summary>The peer granted <paramref name="increment"/> more bytes; false when that would exceed what any window may be.</summary>
    public bool Grant(uint increment)
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            _sendCredit += increment;
            if (_sendCredit > 2L * TunnelLimits.MaxWindow)
            {
                return false;
            }

            waiter = _creditWaiter;
            _creditWaiter = null;
        }

        waiter?.TrySetResult();
        return true;
    }

    /// <summary>The peer closed the connection: after <c>DONE</c> what is queued is still written; any other reason resets it now.</summary>
    public void PeerClosed(Close close)
    {
        if (close.Reason == CloseReason.Done)
        {
            _peerDone = true;
            PeerHalfClosed();
            return;
        }

        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            TunnelLog.ConnectionClosedByPeer(_mux.Logger, Id, close.Reason, close.Message);
            _reset = true;
            Cancel();
            _mux.OnPeerFailed(Id, close.Reason, close.Message);
        }
    }

    /// <summary>Ends the connection for <paramref name="reason"/>: the peer gets a Close saying why, the socket is reset.</summary>
    public void Fail(CloseReason reason, string message)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            TunnelLog.ConnectionFailed(_mux.Logger, Id, reason, message);
            Lane.Frames.QueueControl(new Frame { Close = new Close { ConnectionId = Id, Reason = reason, Message = message } });
            _reset = true;
            Cancel();
        }
    }

    /// <summary>Ends the connection without telling the peer (the stream is going away): the socket is reset.</summary>
    /// <returns>Whether it was still open: not closed, failed or aborted before.</returns>
    public bool Abort()
    {
        var wasOpen = Interlocked.Exchange(ref _closed, 1) == 0;
        _reset = true;
        Cancel();
        return wasOpen;
    }

    private void Cancel()
    {
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already over.
        }
    }

    private async Task RunAsync(Task<Socket> dialing)
    {
        Socket? socket = null;
        try
        {
            try
            {
                socket = await dialing.ConfigureAwait(false);
            }
            catch (TunnelDialException e)
            {
                Fail(e.Reason, e.Message);
                return;
            }
            catch (SocketException e)
            {
                Fail(CloseReason.DialFailed, e.Message);
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (_stop.IsCancellationRequested)
            {
                return;
            }

            socket.NoDelay = true;
            await Task.WhenAll(ReadFromSocketAsync(socket), WriteToSocketAsync(socket)).ConfigureAwait(false);
            if (!_mux.IsStopping && Interlocked.Exchange(ref _closed, 1) == 0 && !_peerDone)
            {
                await TrySendOrderedAsync(new Frame { Close = new Close { ConnectionId = Id, Reason = CloseReason.Done } }).ConfigureAwait(false);
            }
        }
        finally
        {
            // Still open when the multiplexer's stop reached it before the multiplexer aborted it (carrying, or still
            // dialling): the stream is gone, so the connection is cut, not finished — reset, since a FIN would tell the
            // app a cut-off transfer was complete, and counted.
            if (_mux.IsStopping && Interlocked.Exchange(ref _closed, 1) == 0)
            {
                _reset = true;
                _mux.OnCut();
            }

            _inbound.Release();
            _mux.Forget(this);
            Close(socket);
            _stop.Dispose();
            _completion.TrySetResult();
        }
    }

    private void Close(Socket? socket)
    {
        if (socket is null)
        {
            return;
        }

        try
        {
            if (_reset)
            {
                socket.LingerState = new LingerOption(true, 0);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed already.
        }

        socket.Dispose();
    }

    private async Task ReadFromSocketAsync(Socket socket)
    {
        var cancellationToken = _stop.Token;
        var filled = false;
        try
        {
            while (true)
            {
                var credit = await CreditAsync(cancellationToken).ConfigureAwait(false);

                // Wait for data without holding a buffer, so an idle connection costs no buffer memory — unless the
                // last read filled its buffer: then more is most likely waiting already.
                if (!filled)
                {
                    await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                }

                // A buffer as large as what is ready (within the window and the frame size), read into and sent as it is.
                var size = (int)Math.Min(Math.Min(_mux.Limits.MaxData, credit), Math.Max(socket.Available, filled ? _mux.Limits.MaxData : 1024));
                // Without a transform the buffer is pooled: it goes out as one Data frame (the read fits the credit and the
                // frame size), and the stream's writer returns it once the frame is written.
                var buffer = _outbound is null ? ArrayPool<byte>.Shared.Rent(size) : new byte[size];
                var read = await socket.ReceiveAsync(buffer.AsMemory(0, size), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    if (_outbound is null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }

                    if (_outbound is not null)
                    {
                        await SendAsync(_outbound.Flush(), cancellationToken).ConfigureAwait(false);
                    }

                    await Lane.Frames.QueueOrderedAsync(new Frame { HalfClose = new HalfClose { ConnectionId = Id } }, cancellationToken).ConfigureAwait(false);
                    return;
                }

                filled = read == size && size == _mux.Limits.MaxData;
                if (_outbound is null)
                {
                    lock (_gate)
                    {
                        _sendCredit -= read;
                    }

                    await _mux.SendDataAsync(Lane, Id, buffer.AsMemory(0, read), buffer, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await SendAsync(_outbound.Transform(buffer.AsMemory(0, read)), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (ChannelClosedException)
        {
            // The stream is going away.
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Fail(CloseReason.Reset, e.Message);
        }
    }

    /// <summary>Sends <paramref name="payload"/> in pieces the peer's window and the frame size allow.</summary>
    private async Task SendAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        while (!payload.IsEmpty)
        {
            var credit = await CreditAsync(cancellationToken).ConfigureAwait(false);
            var size = (int)Math.Min(Math.Min(credit, _mux.Limits.MaxData), payload.Length);
            lock (_gate)
            {
                _sendCredit -= size;
            }

            await _mux.SendDataAsync(Lane, Id, payload[..size], null, cancellationToken).ConfigureAwait(false);
            payload = payload[size..];
        }
    }

    private async Task WriteToSocketAsync(Socket socket)
    {
        var cancellationToken = _stop.Token;
        try
        {
            await _inbound.WriteAsync(socket, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Fail(CloseReason.Reset, e.Message);
        }
    }

    /// <summary>The send credit once there is some (waits while the peer's window is full).</summary>
    private async Task<long> CreditAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_sendCredit > 0)
                {
                    return _sendCredit;
                }

                _creditWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _creditWaiter.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task TrySendOrderedAsync(Frame frame)
    {
        try
        {
            await Lane.Frames.QueueOrderedAsync(frame, _mux.Stopping).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            // The stream is going away; the peer drops the connection with it.
        }
    }
}
