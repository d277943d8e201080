using System.Globalization;
using System.Net;
using Grpc.Core;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Server.LocalWorkloads;

/// <summary>
/// The manifests mode's LocalWorkloads: there is no API server to create them in, so the agent sends the spec in its
/// Hello and the broker keeps the workload in memory while it is served: each is one origin of the
/// <see cref="SourcePipeline"/> (a source of its own beside the manifest files), validated and published like them. Who may connect: agents on loopback, and others that present the broker's
/// token (<c>--tunnel-token</c>, compared by hash in constant time).
/// </summary>
internal sealed class InMemoryLocalWorkloads : ILocalWorkloadRegistry
{
    private const string OriginPrefix = "local connect ";
    private readonly RoutingInputsStore _inputsInForce;
    private readonly OutboundTargets _outbound;
    private readonly SourceFeed _feed;
    private readonly Dictionary<string, (WorkloadClaim Claim, LocalWorkload Workload)> _workloads = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<LocalWorkload, object> _registered = [];
    private readonly string? _tokenHash;
    private readonly Func<Translation.TranslationOptions> _translation;

    /// <summary>
    /// Workloads registered by agents of this broker, fed to <paramref name="pipeline"/>; agents not on loopback must
    /// present <paramref name="token"/>; preview URLs are those of <paramref name="translation"/>'s preview domain.
    /// </summary>
    public InMemoryLocalWorkloads(RoutingInputsStore inputsInForce, SourcePipeline pipeline, OutboundTargets outbound, string? token, Func<Translation.TranslationOptions> translation)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        _inputsInForce = inputsInForce;
        _outbound = outbound;
        _translation = translation;
        _tokenHash = string.IsNullOrEmpty(token) ? null : LocalWorkload.HashSecret(token);

        // Nothing is registered before the first agent: this source is synced from the start.
        _feed = pipeline.Register("local connect");
        _feed.MarkSynced();
    }

    /// <inheritdoc />
    public string Mode => "manifests";

    /// <inheritdoc />
    public bool TokenRequired => _tokenHash is not null;

    /// <inheritdoc />
    public Task<WorkloadClaim> ClaimAsync(Hello hello, IPAddress? peer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(hello);
        var loopback = peer is not null && IPAddress.IsLoopback(peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer);
        if (!loopback && (_tokenHash is null || !WorkloadClaims.Matches(hello.Secret, _tokenHash)))
        {
            // No token configured: a policy refusal (PERMISSION_DENIED); a token that does not match: bad credentials (UNAUTHENTICATED).
            throw _tokenHash is null
                ? new RpcException(new Status(StatusCode.PermissionDenied, "this broker (manifests mode) accepts agents on its own host only; start it with --tunnel-token to accept others"))
                : new RpcException(new Status(StatusCode.Unauthenticated, "wrong token: give the broker's --tunnel-token with sandboxctl local connect --token"));
        }

        var spec = hello.Spec ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "Hello.spec: a manifests-mode broker registers the workload from the spec the agent sends; it is missing"));
        var inputs = _inputsInForce.Current ?? throw new RpcException(new Status(StatusCode.Unavailable, "the server has not loaded its manifests yet"));
        var key = $"{hello.Namespace}/{hello.LocalWorkload}";
        if (inputs.FindLocalWorkload(hello.Namespace, hello.LocalWorkload) is { } found && !_registered.TryGetValue(found, out _))
        {
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"LocalWorkload {key} is defined in the manifests; give the agent another --name"));
        }

        var claim = WorkloadClaims.Build(inputs, hello.Namespace, hello.LocalWorkload, spec.Sandbox, spec.RoutingKey, spec.Service, spec.Ports.Select(p => (int)p), hello.SessionId, [.. spec.Expose]);
        var previews = WorkloadPreviews.Of(claim, [.. spec.Previews.Select(p => ((int)p.Port, p.Access))], _translation().PreviewDomain, _translation().PreviewSalt);
        return Task.FromResult(claim with { TakesOver = hello.TakeOver, Previews = previews });
    }

    /// <inheritdoc />
    public Task ConnectedAsync(WorkloadClaim claim, TunnelPlacement placement, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        ArgumentNullException.ThrowIfNull(placement);
        var now = placement.ConnectedAt.ToString("o", CultureInfo.InvariantCulture);
        var workload = new LocalWorkload
        {
            Metadata = new ObjectMeta { Namespace = claim.Namespace, Name = claim.Name },
            Spec = new Model.LocalWorkloadSpec
            {
                Sandbox = claim.Sandbox,
                RoutingKey = claim.Sandbox is null ? claim.RoutingKey : null,
                Service = claim.Service,
                Ports = [.. claim.Ports.Select(p => new LocalPort { Port = p.Port, Protocol = p.Protocol })],
                Previews = [.. claim.Previews.Select(p => new LocalPreview { Port = p.Port, Access = p.Access })],
            },
            Status = new LocalWorkloadStatus
            {
                Phase = LocalWorkloadPhase.Connected,
                RoutingKey = claim.RoutingKey,
                Tunnel = new TunnelStatus
                {
                    Replica = placement.Replica,
                    Address = placement.Address,
                    Ports = [.. placement.Ports.Select(p => new TunnelPort { Port = p.Port, BrokerPort = p.BrokerPort })],
                    ConnectedAt = now,
                    LastHeartbeat = now,
                },
            },
        };
        lock (_gate)
        {
            Publish(claim, workload);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task DetachedAsync(WorkloadClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        lock (_gate)
        {
            // Only the stream connected last: a reconnect that came first keeps the routes.
            if (_workloads.TryGetValue(claim.Key, out var held) && ReferenceEquals(held.Claim, claim) && held.Workload.Status is { Tunnel: { } tunnel } status)
            {
                // Disconnected, so not routable; the tunnel (address, broker ports) stays reserved for the reconnect grace.
                Publish(claim, held.Workload with { Status = status with { Phase = LocalWorkloadPhase.Disconnected, Tunnel = tunnel with { ConnectedAt = null } } });
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<bool> HeartbeatAsync(WorkloadClaim claim, DateTimeOffset at, CancellationToken cancellationToken) => Task.FromResult(true);

    /// <inheritdoc />
    public Task ReleasedAsync(WorkloadClaim claim, bool goodbye, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        lock (_gate)
        {
            // Not when another agent session connected meanwhile (a reconnect racing the grace's end).
            if (_workloads.TryGetValue(claim.Key, out var held) && ReferenceEquals(held.Claim, claim) && _workloads.Remove(claim.Key))
            {
                _feed.Apply([SourceChange.Removed(OriginPrefix + claim.Key)]);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Puts <paramref name="workload"/> of <paramref name="claim"/> in force (under the gate, so changes reach the pipeline in order).</summary>
    private void Publish(WorkloadClaim claim, LocalWorkload workload)
    {
        _registered.AddOrUpdate(workload, claim.Key);
        _workloads[claim.Key] = (claim, workload);
        var origin = OriginPrefix + claim.Key;
        _feed.Apply([SourceChange.Of(origin, new ManifestObject(workload, new ManifestLocation(origin, 1, null)))]);
    }

    /// <inheritdoc />
    public Task<IPEndPoint> ResolveOutboundAsync(WorkloadClaim claim, string service, int port, CancellationToken cancellationToken) =>
        Task.FromResult(_outbound.Resolve(claim, service, port));
}
