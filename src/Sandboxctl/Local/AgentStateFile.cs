namespace Sandboxctl.Local;

/// <summary>
/// The state file of the running agent (what <c>local status</c> and <c>local disconnect</c> read): written when the
/// agent starts, updated with the live numbers every tick, removed when it stops.
/// </summary>
internal sealed class AgentStateFile(AgentStateStore store, AgentState state, TimeProvider clock)
{
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

    /// <summary>Writes the starting state.</summary>
    public void Write() => store.Write(state);

    /// <summary>Writes the state with the live numbers of <paramref name="snapshot"/>; a file that cannot be written is skipped (the tunnel goes on).</summary>
    public void Update(AgentSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        try
        {
            var now = clock.GetUtcNow();
            store.Write(state with
            {
                ConnectedSince = snapshot.ConnectedSince,
                LastHeartbeat = snapshot.HeartbeatAge is { } age ? now - age : null,
                RoutingKey = snapshot.RoutingKey,
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

    /// <summary>Removes the file.</summary>
    public void Delete() => store.Delete(state.Namespace, state.Name);
}
