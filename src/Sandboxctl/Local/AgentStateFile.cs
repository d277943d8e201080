namespace Sandboxctl.Local;

/// <summary>
/// The state file of the running agent (what <c>local status</c> and <c>local disconnect</c> read): first written when
/// the broker welcomes the agent (an agent the broker refuses never touches the file of the agent holding the name),
/// updated with the live numbers every tick, removed when it stops — only while it is still this process's file.
/// </summary>
internal sealed class AgentStateFile(AgentStateStore store, AgentState state, TimeProvider clock)
{
    private readonly Lock _gate = new();
    private bool _written;
    private bool _closed;

    /// <summary>The state of an agent starting now for <paramref name="request"/>, registered by <paramref name="registration"/>, reaching <paramref name="broker"/>.</summary>
    public static AgentState Starting(LocalConnectRequest request, IAgentRegistration registration, string broker, ClusterIdentity identity, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentNullException.ThrowIfNull(identity);
        var inCluster = registration is KubernetesRegistration;
        return new AgentState
        {
            Pid = Environment.ProcessId,
            ProcessStart = AgentStateStore.ProcessStartOf(Environment.ProcessId),
            Name = request.Name,
            Namespace = registration.Namespace,
            Service = request.Service,
            Mode = registration.Mode,
            Server = broker,
            Kubeconfig = inCluster ? identity.Kubeconfig : null,
            Context = inCluster ? identity.Context : null,
            Started = clock.GetUtcNow(),
        };
    }

    /// <summary>
    /// Writes the state with the live numbers of <paramref name="snapshot"/> once the agent was welcomed (before, the
    /// name may be another agent's); a file that cannot be written is skipped (the tunnel goes on).
    /// </summary>
    public void Update(AgentSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_gate)
        {
            if (_closed || (!_written && snapshot.ConnectedSince is null))
            {
                return;
            }

            _written = true;
            WriteLocked(snapshot);
        }
    }

    /// <summary>Removes the file, if this agent wrote it and it is still this process's.</summary>
    public void Delete()
    {
        lock (_gate)
        {
            _closed = true;
            if (_written)
            {
                store.DeleteOwn(state.Namespace, state.Name, state.Pid);
            }
        }
    }

    private void WriteLocked(AgentSnapshot snapshot)
    {
        try
        {
            var now = clock.GetUtcNow();
            store.Write(state with
            {
                ConnectedSince = snapshot.ConnectedSince,
                LastHeartbeat = snapshot.HeartbeatAge is { } age ? now - age : null,
                RoutingKey = snapshot.RoutingKey,
                Previews = snapshot.Previews,
                ActiveConnections = snapshot.ActiveConnections,
                BytesIn = snapshot.BytesIn,
                BytesOut = snapshot.BytesOut,
                Updated = now,
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // local status shows the file's age; a full disk must not stop the tunnel.
        }
    }
}
