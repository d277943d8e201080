using System.Net.Sockets;
using Grpc.Core;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The workloads this replica serves: for each, one listener per workload port (the endpoint EDS names) and the
/// agent stream attached now. A workload outlives its stream by <see cref="TunnelBrokerOptions.ReconnectGrace"/>, so an
/// agent that reconnects finds the same ports (no EDS change); meanwhile its routes are withdrawn (keyed requests reach
/// the baseline) and data-plane connections that still arrive wait a little for it.
/// </summary>
public sealed class WorkloadTunnels : IAsyncDisposable
{
    /// <summary>How long withdrawing a lost agent's routes may take (a status write in Kubernetes mode).</summary>
    private static readonly TimeSpan DetachWriteTimeout = TimeSpan.FromSeconds(10);
    private bool _hostStopping;

    private readonly Dictionary<string, WorkloadTunnel> _tunnels = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TunnelBrokerOptions _options;
    private readonly ILocalWorkloadRegistry _registry;
    private readonly TimeProvider _clock;
    private readonly ILogger<WorkloadTunnels> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _expiry;

    /// <summary>Serves workloads with <paramref name="options"/>, releasing them in <paramref name="registry"/> when their grace ends.</summary>
    public WorkloadTunnels(TunnelBrokerOptions options, ILocalWorkloadRegistry registry, TimeProvider clock, ILogger<WorkloadTunnels> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _registry = registry;
        _clock = clock;
        _logger = logger;
        _expiry = ExpireAsync(_stopping.Token);
    }

    /// <summary>Agents attached now.</summary>
    public int Attached
    {
        get
        {
            lock (_gate)
            {
                return _tunnels.Values.Count(t => t.Session is not null);
            }
        }
    }

    /// <summary>Bytes the attached streams received and have not yet written to data-plane sockets (bounded by their connections' windows).</summary>
    public long BufferedBytes
    {
        get
        {
            lock (_gate)
            {
                return _tunnels.Values.Select(t => t.Session?.Multiplexer.BufferedBytes ?? 0).Sum();
            }
        }
    }

    /// <summary>Connections open on the attached streams.</summary>
    public int OpenConnections
    {
        get
        {
            lock (_gate)
            {
                return _tunnels.Values.Sum(t => t.Session?.Multiplexer.OpenConnections ?? 0);
            }
        }
    }

    /// <summary>Workloads served (attached or within their grace).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _tunnels.Count;
            }
        }
    }

    /// <summary>The stream attached to workload <paramref name="key"/> (namespace/name) now, if any.</summary>
    internal TunnelSession? AttachedSession(string key)
    {
        lock (_gate)
        {
            return _tunnels.TryGetValue(key, out var tunnel) ? tunnel.Session : null;
        }
    }

    /// <summary>
    /// Attaches <paramref name="session"/> to its workload's tunnel, creating the listeners the first time. A stream of the
    /// same agent session still attached (its TCP connection may be dead without either side knowing yet) is ended;
    /// another agent's live stream makes this one fail with AlreadyExists.
    /// </summary>
    internal WorkloadTunnel Attach(TunnelSession session)
    {
        var claim = session.Claim;
        TunnelSession? replaced = null;
        WorkloadTunnel tunnel;
        lock (_gate)
        {
            if (_tunnels.TryGetValue(claim.Key, out var existing))
            {
                if (existing.WasSupplanted(claim.SessionId))
                {
                    throw new RpcException(new Status(StatusCode.AlreadyExists, $"LocalWorkload {claim.Key} was taken over by another agent (sandboxctl local connect --force); this agent no longer holds it"));
                }

                // Another agent's live stream keeps the workload — unless this agent proved a secret the other no longer
                // can (Kubernetes mode: the workload's secret hash was replaced by sandboxctl local connect --force) or
                // asked to take it over (manifests mode: --force).
                if (existing.Session is { } current && current.Claim.SessionId != claim.SessionId && current.Claim.SecretHash == claim.SecretHash && !claim.TakesOver)
                {
                    throw new RpcException(new Status(StatusCode.AlreadyExists, $"LocalWorkload {claim.Key} is connected from another agent (since {current.ConnectedAt:u}, on replica {_options.Replica}); stop that agent (sandboxctl local disconnect {claim.Name}) or wait for it to time out"));
                }

                if (!existing.Ports.SequenceEqual(claim.Ports.Select(p => p.Port)))
                {
                    // The agent came back serving other ports: new listeners (and the old stream, if still attached, ends).
                    _tunnels.Remove(claim.Key);
                    replaced = existing.Session;
                    _ = existing.DisposeAsync().AsTask();
                    existing = null;
                }
            }

            if (existing is null && _tunnels.Values.Count(t => t.Session is not null) >= _options.MaxAgents)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"this replica serves {_options.MaxAgents} agents already"));
            }

            tunnel = existing ?? Create(claim);
            replaced = tunnel.Attach(session) ?? replaced;
        }

        replaced?.End(replaced.Claim.SessionId == claim.SessionId ? "another stream of the same agent took over" : "another agent took the LocalWorkload over (sandboxctl local connect --force)");
        return tunnel;
    }

    /// <summary>
    /// Tells the broker that the host is stopping: the agents' streams end with it, and a status write that fails then
    /// (the API client or the request cancelled by the shutdown) is expected, not a fault.
    /// </summary>
    public void HostStopping() => Volatile.Write(ref _hostStopping, true);

    /// <summary>
    /// The stream of <paramref name="session"/> ended: after a goodbye (the routes are withdrawn already) the tunnel goes
    /// now; else its routes are withdrawn now (keyed requests reach the baseline instead of waiting for an agent that may
    /// not come) and its listeners stay for the grace, so an agent that comes back gets the same ports.
    /// </summary>
    internal async Task DetachAsync(WorkloadTunnel tunnel, TunnelSession session, bool goodbye)
    {
        bool release;
        lock (_gate)
        {
            if (!tunnel.Detach(session, _clock.GetUtcNow()))
            {
                // Another stream of the agent took over: nothing to release.
                return;
            }

            release = goodbye && _tunnels.Remove(session.Claim.Key);
        }

        if (release)
        {
            await tunnel.DisposeAsync().ConfigureAwait(false);
            return;
        }

        if (!goodbye)
        {
            WorkloadTunnelLog.Detached(_logger, session.Claim.Key, _options.ReconnectGrace.TotalSeconds);
            using var timeout = new CancellationTokenSource(DetachWriteTimeout);
            try
            {
                await _registry.DetachedAsync(session.Claim, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                if (Volatile.Read(ref _hostStopping) || _stopping.IsCancellationRequested)
                {
                    // This replica is going away and the agent will reconnect to another: its status names this replica until then.
                    WorkloadTunnelLog.DetachNotWrittenAtShutdown(_logger, session.Claim.Key, e.Message);
                }
                else
                {
                    WorkloadTunnelLog.DetachFailed(_logger, e, session.Claim.Key, e.Message);
                }
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _expiry.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        WorkloadTunnel[] all;
        lock (_gate)
        {
            all = [.. _tunnels.Values];
            _tunnels.Clear();
        }

        foreach (var tunnel in all)
        {
            await tunnel.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private WorkloadTunnel Create(WorkloadClaim claim)
    {
        var listeners = new List<(int Port, TcpListener Listener)>();
        try
        {
            foreach (var port in claim.Ports)
            {
                listeners.Add((port.Port, Bind(claim)));
            }
        }
        catch
        {
            foreach (var (_, listener) in listeners)
            {
                listener.Dispose();
            }

            throw;
        }

        var tunnel = new WorkloadTunnel(claim.Key, listeners, _options, _logger);
        _tunnels[claim.Key] = tunnel;
        return tunnel;
    }

    /// <summary>
    /// A listener on a free port of the range (or any free port when the range is empty). A workload that comes back after
    /// its grace gets new ports on purpose: clients may be backing off from the old ones, which refused them meanwhile.
    /// </summary>
    private TcpListener Bind(WorkloadClaim claim)
    {
        if (_options.ListenPortCount == 0)
        {
            return Started(new TcpListener(_options.BindAddress, 0));
        }

        var used = _tunnels.Values.SelectMany(t => t.BrokerPorts).ToHashSet();
        for (var port = _options.FirstListenPort; port < _options.FirstListenPort + _options.ListenPortCount; port++)
        {
            if (used.Contains(port))
            {
                continue;
            }

            try
            {
                return Started(new TcpListener(_options.BindAddress, port));
            }
            catch (SocketException)
            {
                // Taken by something else on this host: try the next one.
            }
        }

        throw new RpcException(new Status(StatusCode.ResourceExhausted, $"no free broker port for {claim.Key} in {_options.FirstListenPort}-{_options.FirstListenPort + _options.ListenPortCount - 1} on replica {_options.Replica}"));
    }

    private static TcpListener Started(TcpListener listener)
    {
        try
        {
            listener.Start();
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private async Task ExpireAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _clock);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            List<WorkloadTunnel> expired = [];
            lock (_gate)
            {
                var now = _clock.GetUtcNow();
                foreach (var tunnel in _tunnels.Values.Where(t => t.Session is null && now - t.DetachedAt > _options.ReconnectGrace).ToArray())
                {
                    _tunnels.Remove(tunnel.Key);
                    expired.Add(tunnel);
                }
            }

            foreach (var tunnel in expired)
            {
                BrokerLog.GraceOver(_logger, tunnel.Key, _options.ReconnectGrace.TotalSeconds);
                await tunnel.DisposeAsync().ConfigureAwait(false);
                await ReleaseAsync(tunnel.LastClaim, goodbye: false).ConfigureAwait(false);
            }
        }
    }

    private async Task ReleaseAsync(WorkloadClaim claim, bool goodbye)
    {
        try
        {
            await _registry.ReleasedAsync(claim, goodbye, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            BrokerLog.ReleaseFailed(_logger, claim.Key, e.Message);
        }
    }
}
