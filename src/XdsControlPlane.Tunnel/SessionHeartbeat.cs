namespace XdsControlPlane.Tunnel;

/// <summary>
/// The heartbeat of one agent stream: while pings arrive it writes a heartbeat to the workload's status every
/// <see cref="TunnelBrokerOptions.HeartbeatWriteInterval"/>; it ends a stream silent for
/// <see cref="TunnelBrokerOptions.SilenceTimeout"/>, and one whose workload is no longer this agent's.
/// </summary>
internal sealed class SessionHeartbeat(TunnelBrokerOptions options, ILocalWorkloadRegistry registry, TimeProvider clock, ILogger logger)
{
    /// <summary>Runs until <paramref name="cancellationToken"/> fires or it ends <paramref name="session"/>.</summary>
    public async Task RunAsync(TunnelSession session, StreamActivity activity, CancellationToken cancellationToken)
    {
        // The Connected write carried the first heartbeat.
        var written = activity.LastPing;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), clock);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            var now = clock.GetUtcNow();
            if (now - activity.LastHeard > options.SilenceTimeout)
            {
                session.End($"no frame for {options.SilenceTimeout.TotalSeconds:0} s");
                return;
            }

            var pinged = activity.LastPing;
            if (pinged > written && now - written >= options.HeartbeatWriteInterval)
            {
                try
                {
                    if (!await registry.HeartbeatAsync(session.Claim, pinged, cancellationToken).ConfigureAwait(false))
                    {
                        session.End("the LocalWorkload is no longer this agent's (taken over, or held by another replica)");
                        return;
                    }

                    written = pinged;
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    BrokerLog.HeartbeatFailed(logger, session.Claim.Key, e.Message);
                }
            }
        }
    }
}
