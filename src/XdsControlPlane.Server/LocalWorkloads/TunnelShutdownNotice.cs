using XdsControlPlane.Tunnel;

namespace XdsControlPlane.Server.LocalWorkloads;

/// <summary>Tells the broker when the host begins to stop, before the agents' streams end with it (<see cref="WorkloadTunnels.HostStopping"/>).</summary>
internal sealed class TunnelShutdownNotice(WorkloadTunnels tunnels, IHostApplicationLifetime lifetime) : IHostedService
{
    private CancellationTokenRegistration _registration;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = lifetime.ApplicationStopping.Register(tunnels.HostStopping);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _registration.DisposeAsync().AsTask();
}
