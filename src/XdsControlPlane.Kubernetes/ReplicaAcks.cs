using System.Globalization;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Hosting;

namespace XdsControlPlane.Kubernetes;

/// <summary>Where a node group stands on one replica: the snapshot version it serves and whether every client connected to that replica has ACKed it.</summary>
/// <param name="Version">The group's current snapshot version (content-derived, so equal on every replica for equal input).</param>
/// <param name="Acked">Every data plane of the group connected to this replica has ACKed <paramref name="Version"/> (true when none is connected).</param>
public sealed record GroupAckState(string Version, bool Acked);

/// <summary>Settings of <see cref="ReplicaAcks"/>.</summary>
public sealed record ReplicaAcksOptions
{
    /// <summary>The namespace of the per-replica Leases (the control plane's own).</summary>
    public string Namespace { get; init; } = "sandboxctl-system";

    /// <summary>This replica's identity (its pod name).</summary>
    public string Identity { get; init; } = Environment.MachineName;

    /// <summary>
    /// The safety resync: how often this replica's state is written (when it changed or is due for renewal) and the
    /// others' read when nothing woke it sooner. <see cref="ReplicaAcks.LocalChanged"/> (an ACK, a NACK, a stream opened
    /// or closed, a new snapshot) writes and reads at once. Renewal needs a round at least every third of <see cref="Freshness"/>.
    /// </summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The least time between two rounds, so a stream of ACKs from many data planes costs a few API calls a second at most, not one round per ACK.</summary>
    public TimeSpan MinRoundSpacing { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A replica whose Lease was not renewed for this long is gone and no longer counts.</summary>
    public TimeSpan Freshness { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>A Lease not renewed for this long is deleted (replicas replaced by a rollout leave theirs behind).</summary>
    public TimeSpan Expiry { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// Shares ACK state between replicas, so that <c>Programmed</c> means every data plane has ACKed, not only those
/// connected to the Lease holder. Each replica keeps a Lease <c>xds-acks-IDENTITY</c> (label
/// <c>sandboxctl.io/xds-acks</c>) whose annotation holds, per node group, the snapshot version it serves and whether
/// its clients ACKed it. Each <see cref="LocalChanged"/> (coalesced) writes it when it changed and reads the others';
/// <see cref="ReplicaAcksOptions.Interval"/> is the safety resync (and renews the Lease). After each round the
/// <c>changed</c> callback tells the status writer to look again.
/// <see cref="AllAcked"/> holds when this replica's clients and those of every other live replica have ACKed the same
/// version of every group. Replicas that stopped renewing are left out after <see cref="ReplicaAcksOptions.Freshness"/>.
/// </summary>
public sealed class ReplicaAcks : BackgroundService
{
    /// <summary>The label that marks the per-replica ACK Leases.</summary>
    public const string Label = "sandboxctl.io/xds-acks";

    private const string Annotation = "sandboxctl.io/acks";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly IKubernetes _client;
    private readonly ReplicaAcksOptions _options;
    private readonly Func<IReadOnlyDictionary<string, GroupAckState>> _local;
    private readonly TimeProvider _clock;
    private readonly ILogger<ReplicaAcks> _logger;
    private readonly Action? _changed;
    private readonly CoalescingSignal _localChanged = new();
    private volatile IReadOnlyList<(string Identity, DateTimeOffset RenewedAt, IReadOnlyDictionary<string, GroupAckState> Groups)> _others = [];

    /// <summary>Shares what <paramref name="local"/> says about this replica's node groups; calls <paramref name="changed"/> (if any) after each round of writing and reading.</summary>
    public ReplicaAcks(IKubernetes client, ReplicaAcksOptions options, Func<IReadOnlyDictionary<string, GroupAckState>> local, TimeProvider clock, ILogger<ReplicaAcks> logger, Action? changed = null)
    {
        _changed = changed;
        _client = client ?? throw new ArgumentNullException(nameof(client));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _local = local ?? throw new ArgumentNullException(nameof(local));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
    }

    /// <summary>The name of this replica's Lease.</summary>
    public string LeaseName => LeaseNameOf(_options.Identity);

    /// <summary>What this replica's data planes hold may have changed: write it and read the others' soon. Calls in a burst cause one round; never blocks.</summary>
    public void LocalChanged() => _localChanged.Notify();

    /// <summary>True when this replica's data planes and those of every other live replica have ACKed the same version of every group.</summary>
    public bool AllAcked()
    {
        var mine = _local();
        if (mine.Values.Any(g => !g.Acked))
        {
            return false;
        }

        var now = _clock.GetUtcNow();
        foreach (var other in _others.Where(o => o.Identity != _options.Identity && now - o.RenewedAt <= _options.Freshness))
        {
            foreach (var (group, state) in mine)
            {
                if (other.Groups.GetValueOrDefault(group) is not { Acked: true } theirs || theirs.Version != state.Version)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        string? written = null;
        var renewedAt = DateTimeOffset.MinValue;
        try
        {
            while (true)
            {
                try
                {
                    var state = JsonSerializer.Serialize(new SortedDictionary<string, GroupAckState>(_local().ToDictionary(), StringComparer.Ordinal), Json);
                    var now = _clock.GetUtcNow();
                    if (state != written || now - renewedAt >= _options.Freshness / 3)
                    {
                        await WriteAsync(state, now, stoppingToken).ConfigureAwait(false);
                        (written, renewedAt) = (state, now);
                    }

                    await ReadOthersAsync(stoppingToken).ConfigureAwait(false);
                    _changed?.Invoke();
                }
                catch (Exception e) when (e is HttpOperationException or HttpRequestException or JsonException or KubernetesException)
                {
                    written = null;   // write again next round
                    KubernetesLog.ReplicaAcksFailed(_logger, e.Message);
                }

                await Task.Delay(_options.MinRoundSpacing, _clock, stoppingToken).ConfigureAwait(false);
                await _localChanged.WaitAsync(Resync, _clock, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The safety resync, but never longer than the renewal period (a third of <see cref="ReplicaAcksOptions.Freshness"/>).</summary>
    private TimeSpan Resync => _options.Interval == Timeout.InfiniteTimeSpan || _options.Interval > _options.Freshness / 3 ? _options.Freshness / 3 : _options.Interval;

    private async Task WriteAsync(string state, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var lease = new V1Lease
        {
            ApiVersion = "coordination.k8s.io/v1",
            Kind = "Lease",
            Metadata = new V1ObjectMeta
            {
                Name = LeaseName,
                NamespaceProperty = _options.Namespace,
                Labels = new Dictionary<string, string> { [Label] = "true" },
                Annotations = new Dictionary<string, string> { [Annotation] = state },
            },
            Spec = new V1LeaseSpec
            {
                HolderIdentity = _options.Identity,
                LeaseDurationSeconds = (int)Math.Ceiling(_options.Freshness.TotalSeconds),
                RenewTime = now.UtcDateTime,
            },
        };
        try
        {
            var current = await _client.CoordinationV1.ReadNamespacedLeaseAsync(LeaseName, _options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            lease.Metadata.ResourceVersion = current.Metadata.ResourceVersion;
            await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, LeaseName, _options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            await _client.CoordinationV1.CreateNamespacedLeaseAsync(lease, _options.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ReadOthersAsync(CancellationToken cancellationToken)
    {
        var leases = await _client.CoordinationV1.ListNamespacedLeaseAsync(_options.Namespace, labelSelector: Label, cancellationToken: cancellationToken).ConfigureAwait(false);
        var others = new List<(string, DateTimeOffset, IReadOnlyDictionary<string, GroupAckState>)>();
        var now = _clock.GetUtcNow();
        foreach (var lease in leases.Items)
        {
            if (lease.Spec?.HolderIdentity is not { } identity || lease.Spec.RenewTime is not { } renewed
                || lease.Metadata.Annotations?.TryGetValue(Annotation, out var state) != true)
            {
                continue;
            }

            var renewedAt = new DateTimeOffset(DateTime.SpecifyKind(renewed, DateTimeKind.Utc));
            if (now - renewedAt > _options.Expiry && identity != _options.Identity)
            {
                await DeleteAsync(lease, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var groups = JsonSerializer.Deserialize<Dictionary<string, GroupAckState>>(state!, Json) ?? [];
            others.Add((identity, renewedAt, groups));
        }

        _others = others;
    }

    /// <summary>Deletes a long-expired replica's Lease, unless another replica did so first or it was renewed meanwhile.</summary>
    private async Task DeleteAsync(V1Lease lease, CancellationToken cancellationToken)
    {
        try
        {
            await _client.CoordinationV1.DeleteNamespacedLeaseAsync(
                lease.Metadata.Name, _options.Namespace, new V1DeleteOptions { Preconditions = new V1Preconditions { ResourceVersion = lease.Metadata.ResourceVersion } }, cancellationToken: cancellationToken).ConfigureAwait(false);
            KubernetesLog.ReplicaLeaseExpired(_logger, lease.Metadata.Name);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
        }
    }

    /// <summary>The Lease name of a replica: <c>xds-acks-</c> and its identity, lower-cased, other characters as <c>-</c>, at most 63.</summary>
    private static string LeaseNameOf(string identity)
    {
        var cleaned = new string([.. identity.ToLower(CultureInfo.InvariantCulture).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '-')]);
        var name = $"xds-acks-{cleaned}".TrimEnd('-', '.');
        return name.Length <= 63 ? name : name[..63].TrimEnd('-', '.');
    }
}
