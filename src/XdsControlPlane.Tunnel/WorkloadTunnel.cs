using System.Net;
using System.Net.Sockets;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel;

/// <summary>One workload served by this replica: its listeners and the agent stream attached now, if any.</summary>
internal sealed class WorkloadTunnel : IAsyncDisposable
{
    /// <summary>How many supplanted agent sessions are remembered (each takeover adds one).</summary>
    private const int MaxSupplanted = 16;

    private readonly IReadOnlyList<(int Port, TcpListener Listener)> _listeners;
    private readonly TunnelBrokerOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _accepting;
    private readonly Lock _gate = new();
    private readonly Queue<string> _supplanted = new();
    private TaskCompletionSource<TunnelSession> _attached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WorkloadTunnel(string key, IReadOnlyList<(int Port, TcpListener Listener)> listeners, TunnelBrokerOptions options, ILogger logger)
    {
        Key = key;
        _listeners = listeners;
        _options = options;
        _logger = logger;
        _accepting = [.. listeners.Select(l => AcceptAsync(l.Port, l.Listener, _stopping.Token))];
    }

    public string Key { get; }

    /// <summary>The workload ports, in the order of the claim.</summary>
    public IEnumerable<int> Ports => _listeners.Select(l => l.Port);

    /// <summary>The broker ports in use.</summary>
    public IEnumerable<int> BrokerPorts => _listeners.Select(l => ((IPEndPoint)l.Listener.LocalEndpoint).Port);

    /// <summary>Workload port → broker port.</summary>
    public IReadOnlyList<(int Port, int BrokerPort)> Endpoints => [.. _listeners.Select(l => (l.Port, ((IPEndPoint)l.Listener.LocalEndpoint).Port))];

    public TunnelSession? Session { get; private set; }

    public DateTimeOffset DetachedAt { get; private set; }

    public WorkloadClaim LastClaim { get; private set; } = null!;

    /// <summary>
    /// Whether agent session <paramref name="sessionId"/> held the workload before another agent attached (took it over,
    /// or came while it was away): it is refused from then on, so two agents never take the workload from each other.
    /// </summary>
    public bool WasSupplanted(string sessionId)
    {
        lock (_gate)
        {
            return _supplanted.Contains(sessionId);
        }
    }

    /// <summary>Makes <paramref name="session"/> the attached one; returns the one it replaces.</summary>
    public TunnelSession? Attach(TunnelSession session)
    {
        lock (_gate)
        {
            var previous = Session;
            if (LastClaim is { } last && last.SessionId != session.Claim.SessionId)
            {
                if (_supplanted.Count == MaxSupplanted)
                {
                    _supplanted.Dequeue();
                }

                _supplanted.Enqueue(last.SessionId);
            }

            Session = session;
            LastClaim = session.Claim;

            // A reconnect can arrive before the broker noticed the old stream drop: the old session is still attached
            // (its task completed). Data planes' connections must go to the new one, not to the stream that is gone.
            if (!_attached.TrySetResult(session))
            {
                _attached = new TaskCompletionSource<TunnelSession>(TaskCreationOptions.RunContinuationsAsynchronously);
                _attached.SetResult(session);
            }

            return previous;
        }
    }

    /// <summary>Detaches <paramref name="session"/> if it is the attached one; false when another took over.</summary>
    public bool Detach(TunnelSession session, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(Session, session))
            {
                return false;
            }

            Session = null;
            DetachedAt = now;
            _attached = new TaskCompletionSource<TunnelSession>(TaskCreationOptions.RunContinuationsAsynchronously);
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var (_, listener) in _listeners)
        {
            listener.Dispose();
        }

        try
        {
            await Task.WhenAll(_accepting).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync(int port, TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of file descriptors, for one: keep the listener, try again shortly.
                BrokerLog.AcceptFailed(_logger, Key, port, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            _ = HandOverAsync(port, socket, cancellationToken);
        }
    }

    /// <summary>Gives a data plane's connection to the attached agent, waiting a little while it reconnects; else resets it.</summary>
    private async Task HandOverAsync(int port, Socket socket, CancellationToken cancellationToken)
    {
        Task<TunnelSession> attached;
        lock (_gate)
        {
            attached = _attached.Task;
        }

        try
        {
            var session = await attached.WaitAsync(_options.AcceptWait, cancellationToken).ConfigureAwait(false);
            var peer = socket.RemoteEndPoint?.ToString() ?? "";
            if (!session.Multiplexer.Open(socket, new Open { Port = (uint)port, Peer = peer }))
            {
                BrokerLog.InboundRefused(_logger, Key, port, "the agent's stream is at its connection limit");
            }
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            var reason = $"no agent attached within {_options.AcceptWait.TotalSeconds:0.#} s";
            BrokerLog.InboundRefused(_logger, Key, port, reason);
            socket.LingerState = new LingerOption(true, 0);
            socket.Dispose();
        }
    }
}
