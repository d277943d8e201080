using System.Collections.Frozen;
using System.Globalization;
using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Google.Protobuf;
using Grpc.Core;

namespace XdsControlPlane.Xds;

/// <summary>
/// The skeleton every xDS stream shares. A reader loop validates requests (<see cref="StreamRequestRules"/>) and
/// queues them on a bounded channel (back-pressure on a flooding client); a single processing loop drains the queue
/// (so only the latest request of each type counts), picks up snapshot changes, asks the protocol for the next response
/// in make-before-break order — one at a time, each against the newest snapshot, so a publication made while a large
/// response is written is not queued behind the rest of the older one — publishes the client's status, tells the
/// <see cref="IXdsStreamCallbacks"/>, and is the only writer of the response stream.
/// <para>
/// The skeleton also owns the policy across types that both protocols follow, so it is written once, each rule read
/// from the type's entry in <see cref="XdsResourceTypes"/>: push order; one nonce sequence per stream; ACK and NACK
/// accounting (metrics, log, callbacks); what the client holds of the types that refer to a kept type decides which
/// removed resources of it are still sent (CDS keeps clusters routes and listeners use: <see cref="HeldChanged"/>,
/// <see cref="InUse"/>); a response makes what its new or changed resources refer to due again where the reference
/// says so (EDS after CDS: <see cref="ReferencedFollow"/>); and the client's status is the status of each type. The
/// protocols (<see cref="SotwStream"/>, <see cref="DeltaStream"/>) only read requests into their
/// <typeparamref name="TSubscription"/> and build responses from it.
/// </para>
/// </summary>
/// <typeparam name="TRequest">DiscoveryRequest or DeltaDiscoveryRequest.</typeparam>
/// <typeparam name="TResponse">DiscoveryResponse or DeltaDiscoveryResponse.</typeparam>
/// <typeparam name="TSubscription">The protocol's per-type state.</typeparam>
internal abstract class XdsStream<TRequest, TResponse, TSubscription>
    where TRequest : class
    where TResponse : class
    where TSubscription : TypeSubscription
{
    private const int InboxCapacity = 64;
    private static long _lastStreamId;

    private readonly XdsStreamContext _context;
    private readonly Channel<TRequest?> _inbox = Channel.CreateBounded<TRequest?>(
        new BoundedChannelOptions(InboxCapacity) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });

    private readonly TimeSpan _maxAge;
    private readonly Func<TRequest, string> _typeUrlOf;
    private readonly Func<TRequest, Node?> _nodeOf;
    private int _snapshotChanged;
    private IDisposable? _watch;
    private readonly Dictionary<string, TSubscription> _types = new(StringComparer.Ordinal);
    private readonly List<(string Name, Action<IXdsStreamCallbacks> Invoke)> _events = [];
    private IDisposable? _nodeScope;
    private XdsStreamInfo? _info;
    private string? _syncedSnapshot;
    private long _nonce;

    /// <summary>A stream of <paramref name="protocol"/> that reads a request's type URL and node with the given functions.</summary>
    /// <param name="context">What every stream needs from the server.</param>
    /// <param name="fixedTypeUrl">The one type a per-type service serves, or <see langword="null"/> for ADS.</param>
    /// <param name="protocol">"sotw" or "delta", for metrics.</param>
    /// <param name="typeUrlOf">The <c>type_url</c> of a request (may be empty).</param>
    /// <param name="nodeOf">The node a request carries, if any.</param>
    protected XdsStream(XdsStreamContext context, string? fixedTypeUrl, string protocol, Func<TRequest, string> typeUrlOf, Func<TRequest, Node?> nodeOf)
    {
        (_context, FixedTypeUrl, Protocol, _typeUrlOf, _nodeOf) = (context, fixedTypeUrl, protocol, typeUrlOf, nodeOf);
        Id = Interlocked.Increment(ref _lastStreamId);
        var age = context.Options.MaxStreamAge;
        _maxAge = age == Timeout.InfiniteTimeSpan ? age : age * (0.9 + (0.2 * Random.Shared.NextDouble()));
    }

    public long Id { get; }

    protected ClientRegistry Registry => _context.Registry;

    protected TimeProvider Clock => _context.Clock;

    protected ILogger Logger => _context.Logger;

    protected XdsMetrics Metrics => _context.Metrics;

    /// <summary>"sotw" or "delta", for metrics.</summary>
    protected string Protocol { get; }

    /// <summary>The one type a per-type service serves, or <see langword="null"/> for ADS.</summary>
    protected string? FixedTypeUrl { get; }

    /// <summary>The bounded, printable copy of the client's node (from its first request), once known.</summary>
    protected Node? Node { get; private set; }

    /// <summary>The client's node group, once known.</summary>
    protected string? Group { get; private set; }

    /// <summary>The snapshot currently served to this stream.</summary>
    protected PublishedSnapshot? Current { get; private set; }

    public async Task RunAsync(IAsyncStreamReader<TRequest> requests, IServerStreamWriter<TResponse> responses, CancellationToken cancellationToken)
    {
        using var scope = Logger.BeginScope(new Dictionary<string, object> { ["StreamId"] = Id });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var aged = new CancellationTokenSource(_maxAge, Clock);
        using var agedRegistration = aged.Token.Register(() => _inbox.Writer.TryComplete());
        using var stoppingRegistration = _context.Stopping.Register(() => _inbox.Writer.TryComplete());
        var reader = ReadAsync(requests, stop.Token);
        try
        {
            await ProcessAsync(responses, stop.Token).ConfigureAwait(false);
            if (_context.Stopping.IsCancellationRequested && Node is not null)
            {
                XdsLog.ServerStopping(Logger, Id, Node.Id);
            }
            else if (aged.IsCancellationRequested && Node is not null)
            {
                XdsLog.MaxAgeReached(Logger, Id, Node.Id);
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            _watch?.Dispose();
            _nodeScope?.Dispose();
            Registry.Remove(Id);
            if (Node is not null && Group is not null)
            {
                Metrics.StreamClosed(Protocol, Group);
                XdsLog.StreamClosed(Logger, Id, Node.Id);
            }

            if (_info is { } info)
            {
                RunQueuedCallbacks(info); // what the stream saw before it ended, if its status was not published since
                _context.Callbacks.Invoke(info, nameof(IXdsStreamCallbacks.OnClosed), c => c.OnClosed(info));
            }

            await reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>The type a request is about: the fixed type of a per-type service, or the request's own.</summary>
    protected string TypeOf(TRequest request) => FixedTypeUrl ?? _typeUrlOf(request);

    /// <summary>A new subscription to <paramref name="typeUrl"/>, for its first request.</summary>
    protected abstract TSubscription Subscribe(string typeUrl);

    /// <summary>Applies one request to the subscription of its type.</summary>
    protected abstract void OnRequest(TRequest request, TSubscription state);

    /// <summary>The response <paramref name="state"/> needs against <paramref name="snapshot"/>, if any.</summary>
    protected abstract TResponse? Evaluate(TSubscription state, PublishedSnapshot snapshot);

    /// <summary>Logs a written response and counts it.</summary>
    protected abstract void OnSent(TResponse response);

    /// <summary>The next nonce of this stream: one sequence for every type.</summary>
    protected string NextNonce() => (++_nonce).ToString(CultureInfo.InvariantCulture);

    /// <summary>The client accepted the response <paramref name="nonce"/> (already recorded in <paramref name="state"/>): counted, and what it now holds may free kept resources.</summary>
    protected void Acked(TSubscription state, string? version, string nonce, DateTimeOffset publishedAt)
    {
        HeldChanged(state);
        Metrics.Acked(state.TypeUrl, Clock.GetUtcNow() - publishedAt);
        Tell(nameof(IXdsStreamCallbacks.OnAcked), (info, c) => c.OnAcked(info, state.TypeUrl, version, nonce));
    }

    /// <summary>The client rejected <paramref name="version"/> of the type with <paramref name="clientMessage"/>: recorded, counted, logged.</summary>
    protected void Nacked(TSubscription state, string? version, string? clientMessage)
    {
        var nack = NackRecord.FromClient(version, clientMessage, Clock.GetUtcNow());
        state.RecordNack(nack);
        Metrics.Nacked(state.TypeUrl);
        if (_context.LogBudget.TryTake(ClientLogBudget.Nack))
        {
            XdsLog.Nack(Logger, Node!.Id, Id, state.TypeUrl, nack.Version, nack.Message);
        }

        Tell(nameof(IXdsStreamCallbacks.OnNacked), (info, c) => c.OnNacked(info, state.TypeUrl, nack.Version, nack.Message));
    }

    /// <summary>
    /// What the client holds of <paramref name="state"/>'s type changed: re-evaluate the types it refers to whose
    /// removed resources are kept while referenced (CDS after LDS or RDS), as their kept set may change.
    /// </summary>
    protected void HeldChanged(TSubscription state)
    {
        foreach (var reference in state.Type?.References ?? [])
        {
            if (XdsResourceTypes.Find(reference.TypeUrl) is { KeptWhileReferenced: true } && _types.TryGetValue(reference.TypeUrl, out var kept))
            {
                kept.InputsChanged = true;
            }
        }
    }

    /// <summary>Names of <paramref name="type"/> the resources the client holds (ACKed or sent) still refer to: not removed yet.</summary>
    protected FrozenSet<string> InUse(XdsResourceType type) =>
        XdsResourceTypes.ReferencesTo(type.TypeUrl)
            .SelectMany(r => (_types.TryGetValue(r.Referrer.TypeUrl, out var held) ? held.MayBeInUse : []).SelectMany(resource => r.Reference.Names(resource.References)))
            .ToFrozenSet(StringComparer.Ordinal);

    /// <summary>
    /// A response of <paramref name="state"/>'s type going from <paramref name="before"/> to <paramref name="after"/>
    /// makes what its new and changed resources refer to due again, even unchanged, where the reference says so
    /// (<see cref="TypeReference.ResentAfterReferrerChanges"/>): Envoy keeps an updated EDS cluster warming until it
    /// receives its endpoints (envoyproxy/envoy xds_protocol.rst, "Resource warming", the Envoy implementation note).
    /// </summary>
    protected void ReferencedFollow(TSubscription state, IReadOnlyDictionary<string, XdsResource> before, IEnumerable<XdsResource> after)
    {
        foreach (var reference in state.Type?.References ?? [])
        {
            if (reference.ResentAfterReferrerChanges && _types.TryGetValue(reference.TypeUrl, out var referenced))
            {
                referenced.ForceResend.UnionWith(
                    after.Where(r => !before.TryGetValue(r.Name, out var previous) || previous.Version != r.Version)
                        .SelectMany(r => reference.Names(r.References)));
            }
        }
    }

    /// <summary>Orders known types by <see cref="TypeUrls.PushOrder"/>, then unknown types by name.</summary>
    private IEnumerable<string> TypesInPushOrder() =>
        TypeUrls.PushOrder.Where(_types.ContainsKey).Concat(_types.Keys.Where(t => !TypeUrls.IsKnown(t)).Order(StringComparer.Ordinal));

    /// <summary>The client's per-type status for CSDS.</summary>
    private TypeStatus[] StatusOfTypes()
    {
        var snapshotVersion = Current?.Snapshot.Version;
        // A type not yet evaluated against the snapshot in force (its turn comes after a response being written) is not
        // known to be in sync with it.
        return [.. _types.Values.OrderBy(t => t.TypeUrl, StringComparer.Ordinal)
            .Select(t => t.StatusAgainst(t.EvaluatedSnapshot == snapshotVersion ? snapshotVersion : null))];
    }

    private void RunQueuedCallbacks(XdsStreamInfo info)
    {
        foreach (var (name, invoke) in _events)
        {
            _context.Callbacks.Invoke(info, name, invoke);
        }

        _events.Clear();
    }

    /// <summary>Queues a callback; the queue is run once the client's status shows what caused it.</summary>
    private void Tell(string name, Action<XdsStreamInfo, IXdsStreamCallbacks> invoke)
    {
        if (!_context.Callbacks.IsEmpty && _info is { } info)
        {
            _events.Add((name, c => invoke(info, c)));
        }
    }

    private async Task ReadAsync(IAsyncStreamReader<TRequest> requests, CancellationToken cancellationToken)
    {
        try
        {
            var rules = new StreamRequestRules(FixedTypeUrl, delta: Protocol == "delta");
            while (await requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                if (rules.Check(_typeUrlOf(requests.Current), hasNode: _nodeOf(requests.Current) is not null) is { } reason)
                {
                    if (_context.LogBudget.TryTake(ClientLogBudget.InvalidRequest))
                    {
                        XdsLog.InvalidRequest(Logger, Id, reason);
                    }

                    throw new RpcException(new Status(StatusCode.InvalidArgument, reason));
                }

                await _inbox.Writer.WriteAsync(requests.Current, cancellationToken).ConfigureAwait(false);
            }

            _inbox.Writer.TryComplete();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
        {
            // gRPC refused a message over MaxReceiveMessageSize: only this stream ends, with gRPC's own status.
            if (_context.LogBudget.TryTake(ClientLogBudget.RequestTooLarge))
            {
                XdsLog.RequestTooLarge(Logger, Id, _context.Options.MaxRequestBytes);
            }

            _inbox.Writer.TryComplete(e);
        }
        catch (InvalidProtocolBufferException e)
        {
            // Bytes that do not decode as the request type: the client's fault, so INVALID_ARGUMENT with the reason, a
            // bounded log line and no stack trace (thrown on, gRPC would answer UNKNOWN and log it as a server error).
            if (_context.LogBudget.TryTake(ClientLogBudget.MalformedRequest))
            {
                XdsLog.MalformedRequest(Logger, Id, typeof(TRequest).Name, e.Message);
            }

            _inbox.Writer.TryComplete(new RpcException(new Status(StatusCode.InvalidArgument, $"the request is not a valid {typeof(TRequest).Name}: {e.Message}")));
        }
        catch (IOException)
        {
            // The client reset the stream or its connection went away. Kestrel fails the read before it cancels the
            // call's token (it cancels on the thread pool), so this is not always an OperationCanceledException: the
            // stream ends as when the client half-closes, not with an exception gRPC would log as a server error.
            _inbox.Writer.TryComplete();
        }
        catch (Exception e)
        {
            _inbox.Writer.TryComplete(e);
        }
    }

    private async Task ProcessAsync(IServerStreamWriter<TResponse> responses, CancellationToken cancellationToken)
    {
        while (await _inbox.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // One response at a time, each chosen after the requests and the snapshot that came while the one before it
            // was written: a snapshot published meanwhile (an endpoint change behind a large route push) is served in push
            // order from then on, not after every response the older snapshot still had due.
            while (NextResponse() is { } response)
            {
                await responses.WriteAsync(response, cancellationToken).ConfigureAwait(false);
                OnSent(response);
            }
        }
    }

    /// <summary>
    /// Applies the queued requests, takes the latest snapshot if it changed, and returns the first response due in push
    /// order against it, or <see langword="null"/> when none is. The client's status is published first, so whoever
    /// sees a response also sees the state that produced it.
    /// </summary>
    private TResponse? NextResponse()
    {
        while (_inbox.Reader.TryRead(out var request))
        {
            if (request is not null)
            {
                BindNode(request);
                var typeUrl = TypeOf(request);
                if (!_types.TryGetValue(typeUrl, out var state))
                {
                    _types[typeUrl] = state = Subscribe(typeUrl);
                }

                OnRequest(request, state);
            }
        }

        if (Group is null)
        {
            return null;
        }

        if (Interlocked.Exchange(ref _snapshotChanged, 0) == 1 || Current is null)
        {
            Current = _context.Cache.GetSnapshot(Group);
            if (Current is null)
            {
                XdsLog.WaitingForSnapshot(Logger, Id, Group);
                PublishStatus(); // connected and waiting is worth showing
                return null;
            }
        }

        TResponse? next = null;
        foreach (var typeUrl in TypesInPushOrder())
        {
            if ((next = Evaluate(_types[typeUrl], Current)) is not null)
            {
                break; // the types after it are evaluated once it is written, against the snapshot in force then
            }
        }

        PublishStatus();
        return next;
    }

    private void BindNode(TRequest request)
    {
        if (Node is not null)
        {
            return;
        }

        var node = _nodeOf(request) ?? throw new InvalidOperationException("the reader lets no first request without a node through");
        var group = _context.Groups.GroupOf(node); // may throw (custom resolvers): then nothing is registered
        Node = RetainedNode.Of(node); // the client's node as sent is not kept: it may be large
        Group = group;
        _watch = _context.Cache.Watch(Group, OnSnapshotChanged);
        _nodeScope = Logger.BeginScope(new Dictionary<string, object> { ["NodeId"] = Node.Id, ["NodeGroup"] = ClientText.Printable(Group, ClientText.MaxNameLength) });
        Metrics.StreamOpened(Protocol, Group);
        var agent = ClientAgent.Of(Node);
        XdsLog.StreamOpened(Logger, Id, Node.Id, agent, Group);
        _info = new XdsStreamInfo(Id, Protocol, Node, Group);
        Tell(nameof(IXdsStreamCallbacks.OnOpened), (info, c) => c.OnOpened(info));
    }

    private void OnSnapshotChanged()
    {
        Interlocked.Exchange(ref _snapshotChanged, 1);
        _inbox.Writer.TryWrite(null); // a wake-up; if the inbox is full, the flag is seen after the queued requests
    }

    /// <summary>Publishes the client's status, then runs the callbacks queued since the last time (and <see cref="IXdsStreamCallbacks.OnSynced"/> when the status says so).</summary>
    private void PublishStatus()
    {
        if (Node is null || Group is null || _info is not { } info)
        {
            return;
        }

        var status = new ClientStatus(Id, Node, Group, StatusOfTypes());
        Registry.Update(status);
        if (_context.Callbacks.IsEmpty)
        {
            return;
        }

        RunQueuedCallbacks(info);
        var synced = status.SyncedSnapshot;
        if (synced is not null && synced != _syncedSnapshot)
        {
            _context.Callbacks.Invoke(info, nameof(IXdsStreamCallbacks.OnSynced), c => c.OnSynced(info, synced));
        }

        _syncedSnapshot = synced;
    }
}

/// <summary>What every stream needs from the server: cache, grouping, registry, clock, logger, callbacks.</summary>
internal sealed record XdsStreamContext(SnapshotCache Cache, INodeGroupResolver Groups, ClientRegistry Registry, TimeProvider Clock, XdsMetrics Metrics, XdsServerOptions Options, ILogger Logger)
{
    /// <summary>The registered stream callbacks (none by default).</summary>
    public XdsStreamCallbackList Callbacks { get; init; } = XdsStreamCallbackList.None;

    /// <summary>The budget of log lines about client behaviour, shared by every stream of the server.</summary>
    public ClientLogBudget LogBudget { get; init; } = new(Clock, Logger, Metrics, Options);

    /// <summary>Fires when the server starts to shut down: streams then end cleanly, so clients reconnect to another replica at once instead of the host waiting out its shutdown timeout.</summary>
    public CancellationToken Stopping { get; init; }
}
