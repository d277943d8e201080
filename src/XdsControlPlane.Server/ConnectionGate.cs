using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Prometheus;

namespace XdsControlPlane.Server;

/// <summary>
/// Admits a listener's connections (Kestrel connection middleware, before TLS): a connection over its peer's limit
/// on this listener (<see cref="ConnectionLimitOptions.MaxPerPeer"/>) is closed as it arrives, and one that sends no
/// request within <see cref="ConnectionLimitOptions.FirstRequestTimeout"/> is closed then. Each is counted; the log
/// gets at most one line per listener and reason a minute, with the count since the last. With the server's budget
/// (<see cref="BudgetedListenerFactory"/>), a flood of idle connections cannot exhaust file descriptors: the process
/// lives, reloads still open files, one address cannot take the budget, and slots held by silent connections free
/// up within the timeout.
/// </summary>
internal sealed class ConnectionGate
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);

    private readonly string _listener;
    private readonly ConnectionLimitOptions _options;
    private readonly ConnectionMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly Dictionary<IPAddress, int> _perPeer = [];
    private readonly Lock _lock = new();
    private readonly LogLine _perPeerLine = new();
    private readonly LogLine _idleLine = new();

    public ConnectionGate(string listener, ConnectionLimitOptions options, ConnectionMetrics metrics, ILogger logger, TimeProvider clock)
    {
        _listener = listener;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _clock = clock;
    }

    /// <summary>The middleware: admits, watches for the first request, and releases the connection's slots when it ends.</summary>
    public async Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var peer = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
        if (!TryTakePeer(peer))
        {
            RefusePeer(connection, peer);
            return;
        }

        var mark = new FirstRequestMark();
        connection.Items[FirstRequestMark.Key] = mark;
        _metrics.Open.WithLabels(_listener).Inc();
        using var watch = _clock.CreateTimer(_ => CloseIfSilent(connection, mark), null, _options.FirstRequestTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            _metrics.Open.WithLabels(_listener).Dec();
            ReleasePeer(peer);
        }
    }

    private void CloseIfSilent(ConnectionContext connection, FirstRequestMark mark)
    {
        if (mark.Seen)
        {
            return;
        }

        _metrics.ClosedWithoutRequest.WithLabels(_listener).Inc();
        if (_idleLine.Due(_clock.GetUtcNow(), LogInterval) is { } count)
        {
            ServerLog.ConnectionWithoutRequest(_logger, _listener, _options.FirstRequestTimeout, count);
        }

        connection.Abort(new ConnectionAbortedException($"no request within {_options.FirstRequestTimeout}"));
    }

    private void RefusePeer(ConnectionContext connection, IPAddress peer)
    {
        _metrics.Refused.WithLabels(_listener, "per_peer").Inc();
        if (_perPeerLine.Due(_clock.GetUtcNow(), LogInterval) is { } count)
        {
            ServerLog.PeerConnectionLimit(_logger, _listener, peer.ToString(), _options.MaxPerPeer, count);
        }

        connection.Abort(new ConnectionAbortedException("connection refused: over the peer's limit"));
    }

    private bool TryTakePeer(IPAddress peer)
    {
        lock (_lock)
        {
            var open = _perPeer.GetValueOrDefault(peer);
            if (open >= _options.MaxPerPeer)
            {
                return false;
            }

            _perPeer[peer] = open + 1;
            return true;
        }
    }

    private void ReleasePeer(IPAddress peer)
    {
        lock (_lock)
        {
            if (_perPeer.TryGetValue(peer, out var open) && open > 1)
            {
                _perPeer[peer] = open - 1;
            }
            else
            {
                _perPeer.Remove(peer);
            }
        }
    }
}

/// <summary>
/// The server's connection budget, shared by every listener (<see cref="BudgetedListenerFactory"/>): a slot per open
/// connection; when none is free the listeners stop accepting, and the first wait logs one line a minute.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The semaphore never allocates a wait handle (AvailableWaitHandle is not used), and connections give slots back after the host is disposed: disposing it would only turn those into ObjectDisposedException.")]
internal sealed class ConnectionBudget
{
    private static readonly TimeSpan LogInterval = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _slots;
    private readonly Action<long> _exhausted;
    private readonly TimeProvider _clock;
    private readonly LogLine _line = new();

    /// <summary>A budget of <paramref name="limit"/> connections; <paramref name="exhausted"/> logs the waits since its last call, at most once a minute.</summary>
    public ConnectionBudget(int limit, TimeProvider clock, Action<long> exhausted)
    {
        Limit = limit;
        _slots = new SemaphoreSlim(limit, limit);
        _clock = clock;
        _exhausted = exhausted;
    }

    /// <summary>The connections every listener together may hold.</summary>
    public int Limit { get; }

    /// <summary>Waits for a free slot (at once when there is one).</summary>
    public async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        if (_slots.Wait(0, CancellationToken.None))
        {
            return;
        }

        if (_line.Due(_clock.GetUtcNow(), LogInterval) is { } waits)
        {
            _exhausted(waits);
        }

        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gives a slot back.</summary>
    public void Release() => _slots.Release();
}

/// <summary>Set on a connection's items by <see cref="ConnectionGate"/>; the first request through <see cref="ConnectionGateExtensions.UseFirstRequestMarks"/> sets <see cref="Seen"/>.</summary>
internal sealed class FirstRequestMark
{
    /// <summary>The connection item's key.</summary>
    public const string Key = "xdscp.first-request";

    private volatile bool _seen;

    /// <summary>Whether a request arrived on the connection.</summary>
    public bool Seen => _seen;

    /// <summary>Records that a request arrived.</summary>
    public void MarkSeen() => _seen = true;
}

/// <summary>Prometheus metrics of the listeners' connections.</summary>
internal sealed class ConnectionMetrics
{
    /// <summary>Open connections by listener.</summary>
    public Gauge Open { get; } = Metrics.CreateGauge("server_connections_open", "Open connections, by listener.", "listener");

    /// <summary>Connections closed as they arrived, by listener and reason (per_peer).</summary>
    public Counter Refused { get; } = Metrics.CreateCounter("server_connections_refused_total", "Connections closed as they arrived, over the peer's limit (Connections:MaxPerPeer).", "listener", "reason");

    /// <summary>Connections closed because no request came within the first-request timeout.</summary>
    public Counter ClosedWithoutRequest { get; } = Metrics.CreateCounter("server_connections_closed_without_request_total", "Connections closed because they sent no request within Connections:FirstRequestTimeout.", "listener");
}

/// <summary>Wires <see cref="FirstRequestMark"/> into the request pipeline.</summary>
internal static class ConnectionGateExtensions
{
    /// <summary>Marks a connection's first request, so its <see cref="ConnectionGate"/> does not close it as silent.</summary>
    public static IApplicationBuilder UseFirstRequestMarks(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            if (context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(FirstRequestMark.Key, out var mark) == true && mark is FirstRequestMark first)
            {
                first.MarkSeen();
            }

            return next(context);
        });
}

/// <summary>At most one log line per interval for a repeated event: counts the events in between and says when a line is due.</summary>
internal sealed class LogLine
{
    private readonly Lock _lock = new();
    private DateTimeOffset _next = DateTimeOffset.MinValue;
    private long _count;

    /// <summary>Counts an event; returns the events since the last line when a line is due now, else null.</summary>
    public long? Due(DateTimeOffset now, TimeSpan interval)
    {
        lock (_lock)
        {
            _count++;
            if (now < _next)
            {
                return null;
            }

            _next = now + interval;
            var count = _count;
            _count = 0;
            return count;
        }
    }
}

