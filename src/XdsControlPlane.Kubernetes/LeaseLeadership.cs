using System.Net;
using k8s;
using k8s.Autorest;
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
    public string Name { get; init; } = FieldManagers.ControlPlane;

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
    private readonly LeaseLock _lease = new(client, options.Namespace, options.Name, options.Identity);
    private volatile bool _leading;

    /// <inheritdoc />
    public string Identity => options.Identity;

    /// <inheritdoc />
    public bool IsLeader => _leading;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var config = new LeaderElectionConfig(_lease)
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
        elector.OnError += e =>
        {
            // The elector's calls are cancelled when the host stops: that is shutdown, not a failure worth a warning.
            if (e is OperationCanceledException && stoppingToken.IsCancellationRequested)
            {
                return;
            }

            KubernetesLog.LeaseFailed(logger, e.Message);
        };
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

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The election loop ends first, so it cannot renew after the release; the host's client is still open here.
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await ReleaseAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// On a graceful stop, hands the Lease back (holder cleared, one-second duration) so another replica takes over at
    /// its next retry instead of after <see cref="LeaseLeadershipOptions.LeaseDuration"/>, as client-go's
    /// <c>ReleaseOnCancel</c> does. Only a Lease this replica still holds is touched; the update is conditional on its
    /// resource version, so it never clears a newer holder.
    /// </summary>
    private async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.RenewDeadline);
        try
        {
            var record = await _lease.GetAsync(timeout.Token).ConfigureAwait(false);
            if (record?.HolderIdentity != options.Identity)
            {
                return;
            }

            var released = new LeaderElectionRecord
            {
                HolderIdentity = "",
                LeaseDurationSeconds = 1,
                AcquireTime = record.AcquireTime,
                RenewTime = DateTime.UtcNow,
                LeaderTransitions = record.LeaderTransitions,
            };
            if (await _lease.UpdateAsync(released, timeout.Token).ConfigureAwait(false))
            {
                KubernetesLog.LeaseReleased(logger, options.Identity, options.Namespace, options.Name);
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // No Lease to hand back: this replica stopped before the election loop created it, or someone deleted it.
        }
        catch (Exception e)
        {
            // The Lease then runs out on its own; another replica takes over after LeaseDuration.
            KubernetesLog.LeaseReleaseFailed(logger, options.Namespace, options.Name, e.Message);
        }
    }
}
