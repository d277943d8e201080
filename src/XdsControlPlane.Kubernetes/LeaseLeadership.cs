using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Hosting;

namespace XdsControlPlane.Kubernetes;

/// <summary>Lease timing and identity of <see cref="LeaseLeadership"/>.</summary>
public sealed record LeaseLeadershipOptions
{
    /// <summary>The namespace of the Lease.</summary>
    public string Namespace { get; init; } = "sandboxctl-system";

    /// <summary>The Lease's name.</summary>
    public string Name { get; init; } = "xds-control-plane";

    /// <summary>This replica's identity (default: the host name, which is the pod name).</summary>
    public string Identity { get; init; } = Environment.MachineName;

    /// <summary>How long a Lease is valid without renewal; a new leader can take over after this.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps trying to renew before it gives leadership up.</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often candidates try to acquire and the leader renews.</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Leader election through a <c>coordination.k8s.io/v1</c> Lease (KubernetesClient's <see cref="LeaderElector"/>):
/// one replica writes status and reconciles; every replica serves xDS. Candidates keep trying for as long as the
/// process runs, so a replica takes over when the leader stops renewing.
/// </summary>
public sealed class LeaseLeadership(IKubernetes client, LeaseLeadershipOptions options, ILogger<LeaseLeadership> logger) : BackgroundService, ILeadership
{
    private volatile bool _leading;

    /// <inheritdoc />
    public string Identity => options.Identity;

    /// <summary>Whether this replica holds the Lease now.</summary>
    /// <inheritdoc />
    public bool IsLeader => _leading;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var config = new LeaderElectionConfig(new LeaseLock(client, options.Namespace, options.Name, options.Identity))
        {
            LeaseDuration = options.LeaseDuration,
            RenewDeadline = options.RenewDeadline,
            RetryPeriod = options.RetryPeriod,
        };
        using var elector = new LeaderElector(config);
        elector.OnStartedLeading += () =>
        {
            _leading = true;
            KubernetesLog.Leading(logger, options.Identity, options.Namespace, options.Name);
        };
        elector.OnStoppedLeading += () =>
        {
            _leading = false;
            KubernetesLog.NotLeading(logger, options.Identity);
        };
        elector.OnError += e => KubernetesLog.LeaseFailed(logger, e.Message);
        try
        {
            await elector.RunAndTryToHoldLeadershipForeverAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _leading = false;
        }
    }
}
