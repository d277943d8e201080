using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Grpc.Core;

namespace XdsControlPlane.Xds;

/// <summary>
/// The skeleton every xDS stream shares. A reader loop validates requests (<see cref="StreamRequestRules"/>) and
/// queues them on a bounded channel (back-pressure on a flooding client); a single processing loop drains the queue
/// (so only the latest request of each type counts), picks up snapshot changes, asks the protocol for responses in
/// make-before-break order, publishes the client's status, and is the only writer of the response stream.
/// </summary>
/// <typeparam name="TRequest">DiscoveryRequest or DeltaDiscoveryRequest.</typeparam>
/// <typeparam name="TResponse">DiscoveryResponse or DeltaDiscoveryResponse.</typeparam>
internal abstract class XdsStream<TRequest, TResponse>
    where TRequest : class
    where TResponse : class
{
    private const int InboxCapacity = 64;
    private static long _lastStreamId;

    private readonly SnapshotCache _cache;
    private readonly INodeGroupResolver _groups;
    private readonly Channel<TRequest?> _inbox = Channel.CreateBounded<TRequest?>(
        new BoundedChannelOptions(InboxCapacity) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });

    private readonly TimeSpan _maxAge;
    private readonly int _maxRequestBytes;
    private int _snapshotChanged;
    private IDisposable? _watch;
    private readonly CancellationToken _stopping;
    private IDisposable? _nodeScope;

    protected XdsStream(XdsStreamContext context, string? fixedTypeUrl)
    {
        _cache = context.Cache;
        _groups = context.Groups;
        Registry = context.Registry;
        Clock = context.Clock;
        Metrics = context.Metrics;
        Logger = context.Logger;
        FixedTypeUrl = fixedTypeUrl;
        Id = Interlocked.Increment(ref _lastStreamId);
        _stopping = context.Stopping;
        _maxRequestBytes = context.Options.MaxRequestBytes;
        var age = context.Options.MaxStreamAge;
        _maxAge = age == Timeout.InfiniteTimeSpan ? age : age * (0.9 + (0.2 * Random.Shared.NextDouble()));
    }

    public long Id { get; }

    protected ClientRegistry Registry { get; }

    protected TimeProvider Clock { get; }

    protected ILogger Logger { get; }

    protected XdsMetrics Metrics { get; }

    /// <summary>"sotw" or "delta", for metrics.</summary>
    protected abstract string Protocol { get; }

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
        using var stoppingRegistration = _stopping.Register(() => _inbox.Writer.TryComplete());
        var reader = ReadAsync(requests, stop.Token);
        try
        {
            await ProcessAsync(responses, stop.Token).ConfigureAwait(false);
            if (_stopping.IsCancellationRequested && Node is not null)
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

            await reader.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>The <c>type_url</c> of <paramref name="request"/> (may be empty).</summary>
    protected abstract string TypeUrlOf(TRequest request);

    /// <summary>The type a request is about: the fixed type of a per-type service, or the request's own.</summary>
    protected string TypeOf(TRequest request) => FixedTypeUrl ?? TypeUrlOf(request);

    /// <summary>The node carried by <paramref name="request"/>, if any.</summary>
    protected abstract Node? NodeOf(TRequest request);

    /// <summary>Applies one request to the stream's state.</summary>
    protected abstract void OnRequest(TRequest request);

    /// <summary>The types with state, in the order to evaluate them (make-before-break).</summary>
    protected abstract IEnumerable<string> TypesInPushOrder();

    /// <summary>The response <paramref name="typeUrl"/> needs against <paramref name="snapshot"/>, if any.</summary>
    protected abstract TResponse? Evaluate(string typeUrl, PublishedSnapshot snapshot);

    /// <summary>The client's per-type status for CSDS.</summary>
    protected abstract IReadOnlyList<TypeStatus> StatusOfTypes();

    /// <summary>Logs a written response and counts it.</summary>
    protected abstract void OnSent(TResponse response);

    /// <summary>Orders known types by <see cref="TypeUrls.PushOrder"/>, then unknown types by name.</summary>
    protected static IEnumerable<string> InPushOrder(IEnumerable<string> typeUrls)
    {
        var present = typeUrls.ToHashSet(StringComparer.Ordinal);
        return TypeUrls.PushOrder.Where(present.Contains).Concat(present.Where(t => !TypeUrls.IsKnown(t)).Order(StringComparer.Ordinal));
    }

    private async Task ReadAsync(IAsyncStreamReader<TRequest> requests, CancellationToken cancellationToken)
    {
        try
        {
            var rules = new StreamRequestRules(FixedTypeUrl, delta: Protocol == "delta");
            while (await requests.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                if (rules.Check(TypeUrlOf(requests.Current), hasNode: NodeOf(requests.Current) is not null) is { } reason)
                {
                    XdsLog.InvalidRequest(Logger, Id, reason);
                    throw new RpcException(new Status(StatusCode.InvalidArgument, reason));
                }

                await _inbox.Writer.WriteAsync(requests.Current, cancellationToken).ConfigureAwait(false);
            }

            _inbox.Writer.TryComplete();
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
        {
            // gRPC refused a message over MaxReceiveMessageSize: only this stream ends, with gRPC's own status.
            XdsLog.RequestTooLarge(Logger, Id, _maxRequestBytes);
            _inbox.Writer.TryComplete(e);
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
            while (_inbox.Reader.TryRead(out var request))
            {
                if (request is not null)
                {
                    BindNode(request);
                    OnRequest(request);
                }
            }

            if (Group is null)
            {
                continue;
            }

            if (Interlocked.Exchange(ref _snapshotChanged, 0) == 1 || Current is null)
            {
                Current = _cache.GetSnapshot(Group);
                if (Current is null)
                {
                    XdsLog.WaitingForSnapshot(Logger, Id, Group);
                    PublishStatus(); // connected and waiting is worth showing
                    continue;
                }
            }

            var pending = new List<TResponse>();
            foreach (var typeUrl in TypesInPushOrder())
            {
                if (Evaluate(typeUrl, Current) is { } response)
                {
                    pending.Add(response);
                }
            }

            // Status first, so whoever sees a response also sees the state that produced it.
            PublishStatus();
            foreach (var response in pending)
            {
                await responses.WriteAsync(response, cancellationToken).ConfigureAwait(false);
                OnSent(response);
            }
        }
    }

    private void BindNode(TRequest request)
    {
        if (Node is not null)
        {
            return;
        }

        var node = NodeOf(request) ?? throw new InvalidOperationException("the reader lets no first request without a node through");
        var group = _groups.GroupOf(node); // may throw (custom resolvers): then nothing is registered
        Node = RetainedNode.Of(node); // the client's node as sent is not kept: it may be large
        Group = group;
        _watch = _cache.Watch(Group, OnSnapshotChanged);
        _nodeScope = Logger.BeginScope(new Dictionary<string, object> { ["NodeId"] = Node.Id, ["NodeGroup"] = ClientText.Printable(Group, ClientText.MaxNameLength) });
        Metrics.StreamOpened(Protocol, Group);
        var agent = ClientAgent.Of(Node);
        XdsLog.StreamOpened(Logger, Id, Node.Id, agent, Group);
    }

    private void OnSnapshotChanged()
    {
        Interlocked.Exchange(ref _snapshotChanged, 1);
        _inbox.Writer.TryWrite(null); // a wake-up; if the inbox is full, the flag is seen after the queued requests
    }

    private void PublishStatus()
    {
        if (Node is not null && Group is not null)
        {
            Registry.Update(new ClientStatus(Id, Node, Group, StatusOfTypes()));
        }
    }
}

/// <summary>What every stream needs from the server: cache, grouping, registry, clock, logger.</summary>
internal sealed record XdsStreamContext(SnapshotCache Cache, INodeGroupResolver Groups, ClientRegistry Registry, TimeProvider Clock, XdsMetrics Metrics, XdsServerOptions Options, ILogger Logger)
{
    /// <summary>Fires when the server starts to shut down: streams then end cleanly, so clients reconnect to another replica at once instead of the host waiting out its shutdown timeout.</summary>
    public CancellationToken Stopping { get; init; }
}
