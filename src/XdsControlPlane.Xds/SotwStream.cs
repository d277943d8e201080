using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Grpc.Core;

namespace XdsControlPlane.Xds;

/// <summary>
/// One State-of-the-World xDS stream (ADS, or a per-type service when <c>fixedTypeUrl</c> is set).
/// A reader loop validates requests and queues them on a bounded channel; a single processing loop owns all state,
/// answers requests and snapshot changes, and is the only writer of the response stream.
/// </summary>
internal sealed class SotwStream
{
    private const int InboxCapacity = 64;
    private static long _lastStreamId;

    private readonly SnapshotCache _cache;
    private readonly INodeGroupResolver _groups;
    private readonly ClientRegistry _registry;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly string? _fixedTypeUrl;
    private readonly Dictionary<string, SubscriptionState> _types = new(StringComparer.Ordinal);
    private readonly Channel<DiscoveryRequest?> _inbox = Channel.CreateBounded<DiscoveryRequest?>(
        new BoundedChannelOptions(InboxCapacity) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });

    private int _snapshotChanged;
    private long _nonce;
    private Node? _node;
    private string? _group;
    private PublishedSnapshot? _current;
    private IDisposable? _watch;

    public SotwStream(SnapshotCache cache, INodeGroupResolver groups, ClientRegistry registry, TimeProvider clock, ILogger logger, string? fixedTypeUrl)
    {
        _cache = cache;
        _groups = groups;
        _registry = registry;
        _clock = clock;
        _logger = logger;
        _fixedTypeUrl = fixedTypeUrl;
        Id = Interlocked.Increment(ref _lastStreamId);
    }

    public long Id { get; }

    public async Task RunAsync(IAsyncStreamReader<DiscoveryRequest> requests, IServerStreamWriter<DiscoveryResponse> responses, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reader = ReadAsync(requests, stop.Token);
        try
        {
            await ProcessAsync(responses, stop.Token).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            _watch?.Dispose();
            _registry.Remove(Id);
            if (_node is not null)
            {
                XdsLog.StreamClosed(_logger, Id, _node.Id);
            }

            await reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task ReadAsync(IAsyncStreamReader<DiscoveryRequest> requests, CancellationToken cancellationToken)
    {
        try
        {
            while (await requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                var request = requests.Current;
                if (Problem(request) is { } reason)
                {
                    XdsLog.InvalidRequest(_logger, Id, reason);
                    throw new RpcException(new Status(StatusCode.InvalidArgument, reason));
                }

                if (_fixedTypeUrl is not null)
                {
                    request.TypeUrl = _fixedTypeUrl;
                }

                await _inbox.Writer.WriteAsync(request, cancellationToken).ConfigureAwait(false);
            }

            _inbox.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _inbox.Writer.TryComplete(e);
        }
    }

    private string? Problem(DiscoveryRequest request)
    {
        if (_fixedTypeUrl is null && string.IsNullOrEmpty(request.TypeUrl))
        {
            return "type_url is required on every ADS request";
        }

        if (_fixedTypeUrl is not null && request.TypeUrl.Length > 0 && request.TypeUrl != _fixedTypeUrl)
        {
            return $"type_url {request.TypeUrl} cannot be requested on the {TypeUrls.ShortName(_fixedTypeUrl)} service, which serves {_fixedTypeUrl}";
        }

        return null;
    }

    private async Task ProcessAsync(IServerStreamWriter<DiscoveryResponse> responses, CancellationToken cancellationToken)
    {
        while (await _inbox.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // Drain everything queued: only the latest request of each type matters.
            while (_inbox.Reader.TryRead(out var request))
            {
                if (request is not null)
                {
                    OnRequest(request);
                }
            }

            if (_group is null)
            {
                continue;
            }

            if (Interlocked.Exchange(ref _snapshotChanged, 0) == 1 || _current is null)
            {
                _current = _cache.GetSnapshot(_group);
                if (_current is null)
                {
                    XdsLog.WaitingForSnapshot(_logger, Id, _group);
                    PublishStatus(); // connected and waiting is worth showing
                    continue;
                }
            }

            var pending = new List<DiscoveryResponse>();
            foreach (var typeUrl in TypeUrls.PushOrder.Concat(_types.Keys.Where(t => !TypeUrls.IsKnown(t)).Order(StringComparer.Ordinal)))
            {
                if (_types.TryGetValue(typeUrl, out var state) && Evaluate(state, _current) is { } response)
                {
                    pending.Add(response);
                }
            }

            // Status first, so whoever sees a response also sees the state that produced it.
            PublishStatus();
            foreach (var response in pending)
            {
                await responses.WriteAsync(response, cancellationToken).ConfigureAwait(false);
                XdsLog.Sent(_logger, Id, response.TypeUrl, response.VersionInfo, response.Resources.Count, response.Nonce);
            }
        }
    }

    private void OnRequest(DiscoveryRequest request)
    {
        if (_node is null)
        {
            _node = request.Node ?? new Node();
            _group = _groups.GroupOf(_node);
            _watch = _cache.Watch(_group, OnSnapshotChanged);
            XdsLog.StreamOpened(_logger, Id, _node.Id, _group);
        }

        if (!_types.TryGetValue(request.TypeUrl, out var state))
        {
            _types[request.TypeUrl] = state = new SubscriptionState(request.TypeUrl);
        }

        if (request.ResponseNonce.Length > 0 && state.LastNonce is not null && request.ResponseNonce != state.LastNonce)
        {
            XdsLog.StaleNonce(_logger, Id, request.TypeUrl, request.ResponseNonce, state.LastNonce);
            return;
        }

        if (request.ErrorDetail is { } error)
        {
            state.RecordNack(new NackRecord(state.LastVersion, error.Message, _clock.GetUtcNow()));
            XdsLog.Nack(_logger, _node.Id, Id, TypeUrls.ShortName(request.TypeUrl), state.LastVersion, error.Message);
        }
        else if (request.ResponseNonce.Length > 0 && request.ResponseNonce == state.LastNonce)
        {
            state.RecordAck();
        }

        state.RequestedSinceEvaluation = true;
        if (state.Subscribe(request.ResourceNames, TypeUrls.IsWildcardCapable(request.TypeUrl)))
        {
            state.MustRespond = true;
        }
    }

    private void OnSnapshotChanged()
    {
        Interlocked.Exchange(ref _snapshotChanged, 1);
        _inbox.Writer.TryWrite(null); // a wake-up; if the inbox is full, the flag is seen after the queued requests
    }

    /// <summary>The response this type needs now, or <see langword="null"/> when the client is up to date.</summary>
    private DiscoveryResponse? Evaluate(SubscriptionState state, PublishedSnapshot published)
    {
        var requested = state.RequestedSinceEvaluation;
        state.RequestedSinceEvaluation = false;
        var resources = Desired(state, published.Snapshot);
        var version = VersionOf(resources);
        var forced = requested && state.ForceResend.Count > 0 && resources.Keys.Any(state.ForceResend.Contains);
        if (!state.MustRespond && !forced && version == state.LastVersion)
        {
            return null;
        }

        state.MustRespond = false;
        if (requested)
        {
            // Answered a request sent after the cluster update: the warming clusters have their endpoints.
            state.ForceResend.Clear();
        }

        if (state.TypeUrl == TypeUrls.Cluster)
        {
            ResendEndpointsOfChangedClusters(state.Sent, resources);
        }

        var nonce = (++_nonce).ToString(CultureInfo.InvariantCulture);
        state.RecordSent(nonce, version, resources);
        var response = new DiscoveryResponse { VersionInfo = version, TypeUrl = state.TypeUrl, Nonce = nonce };
        foreach (var resource in resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            response.Resources.Add(resource.Packed);
        }

        return response;
    }

    /// <summary>
    /// The resources the client should hold: the requested (or all, for a wildcard) resources of the snapshot, and
    /// for CDS also the removed clusters that routes or listeners the client holds still point at, so a
    /// cluster goes only after the routes that used it are gone.
    /// </summary>
    private FrozenDictionary<string, XdsResource> Desired(SubscriptionState state, Snapshot snapshot)
    {
        var all = snapshot.Resources(state.TypeUrl);
        var desired = new Dictionary<string, XdsResource>(StringComparer.Ordinal);
        foreach (var name in state.Wildcard ? all.Keys.Concat(state.Names) : state.Names)
        {
            if (all.TryGetValue(name, out var resource))
            {
                desired[name] = resource;
            }
        }

        if (state.TypeUrl == TypeUrls.Cluster)
        {
            foreach (var name in ClustersInUse())
            {
                if (!desired.ContainsKey(name) && state.Sent.TryGetValue(name, out var stillUsed) && (state.Wildcard || state.Names.Contains(name)))
                {
                    desired[name] = stillUsed;
                }
            }
        }

        return desired.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>
    /// Clusters that routes or listeners the client may be using point at: those it ACKed and those it was sent
    /// (Envoy applies a response before it ACKs it).
    /// </summary>
    private IEnumerable<string> ClustersInUse()
    {
        IEnumerable<XdsResource> Held(string typeUrl) => _types.TryGetValue(typeUrl, out var s) ? s.Acked.Values.Concat(s.Sent.Values) : [];
        return Held(TypeUrls.RouteConfiguration).Concat(Held(TypeUrls.Listener)).SelectMany(r => r.References.Clusters);
    }

    /// <summary>
    /// Envoy warms an updated EDS cluster until it receives endpoints for it, even unchanged ones: mark the EDS names
    /// of new or changed clusters so the next EDS request is answered.
    /// </summary>
    private void ResendEndpointsOfChangedClusters(FrozenDictionary<string, XdsResource> before, FrozenDictionary<string, XdsResource> after)
    {
        if (!_types.TryGetValue(TypeUrls.ClusterLoadAssignment, out var endpoints))
        {
            return;
        }

        foreach (var (name, cluster) in after)
        {
            if (!before.TryGetValue(name, out var previous) || previous.Version != cluster.Version)
            {
                endpoints.ForceResend.UnionWith(cluster.References.EdsServices);
            }
        }
    }

    private static string VersionOf(FrozenDictionary<string, XdsResource> resources)
    {
        var text = new StringBuilder();
        foreach (var resource in resources.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            text.Append(resource.Name).Append('\n').Append(resource.Version).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())), 0, 8);
    }

    private void PublishStatus()
    {
        if (_node is null || _group is null)
        {
            return;
        }

        var snapshotVersion = _current?.Snapshot.Version;
        var types = _types.Values.OrderBy(t => t.TypeUrl, StringComparer.Ordinal).Select(t => new TypeStatus(
            t.TypeUrl,
            t.LastVersion,
            t.AckedVersion,
            t.LastNack,
            t.Sent,
            t.Acked,
            t.LastVersion is not null && t.AckedVersion == t.LastVersion && !t.MustRespond ? snapshotVersion : null)).ToArray();
        _registry.Update(new ClientStatus(Id, _node, _group, types));
    }
}
