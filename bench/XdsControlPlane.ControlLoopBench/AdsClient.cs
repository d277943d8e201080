using System.Diagnostics;
using System.Text;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;

namespace XdsControlPlane.ControlLoopBench;

/// <summary>One response as the client saw it: when it arrived and when its ACK went out (Stopwatch timestamps), what it carried, and which watched markers it contains.</summary>
internal sealed record ReceivedResponse(string Client, long Received, long Acked, string Type, string Version, IReadOnlyList<string> Names, int Bytes, IReadOnlySet<string> Markers);

/// <summary>
/// A raw State-of-the-World ADS client that behaves like Envoy: CDS and LDS wildcard, EDS for a fixed set of
/// clusters, RDS for the route configurations its listeners name (followed as LDS changes) or, for a listener with
/// scoped routes (<c>--scoped-routes</c>), SRDS wildcard and RDS for the route configurations its scopes name. It decodes every
/// resource and ACKs every response right after, recording each response. Markers (set before an edit) are looked
/// for in each response: an EDS marker <c>cluster|address</c> matches an endpoint address of that cluster exactly,
/// any other marker matches when its text occurs in a resource's bytes.
/// </summary>
internal sealed class AdsClient : IAsyncDisposable
{
    private readonly List<ReceivedResponse> _log = [];
    private readonly Dictionary<string, string[]> _subscriptions;
    private readonly Dictionary<string, (string Version, string Nonce)> _acked = [];
    private readonly GrpcChannel _channel;
    private readonly CancellationTokenSource _stop = new();
    private readonly Node _node;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string[] _markers = [];
    private Task _run = Task.CompletedTask;

    public AdsClient(string name, string role, int port, IReadOnlyList<string> clusters)
    {
        Name = name;
        _node = new Node
        {
            Id = $"{name}~{role}",
            Cluster = "control-loop-bench",
            Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString(role) } },
            UserAgentName = "envoy",
        };
        _subscriptions = new Dictionary<string, string[]>
        {
            [TypeUrls.Cluster] = [],
            [TypeUrls.ClusterLoadAssignment] = [.. clusters],
            [TypeUrls.Listener] = [],
        };
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxReceiveMessageSize = null, MaxSendMessageSize = null });
    }

    public string Name { get; }

    /// <summary>Why the stream ended, when it did.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>How many responses so far.</summary>
    public int Count
    {
        get
        {
            lock (_log)
            {
                return _log.Count;
            }
        }
    }

    /// <summary>Sets the markers looked for in responses from now on.</summary>
    public void Watch(params string[] markers) => _markers = markers;

    public void Start() => _run = RunAsync(_stop.Token);

    /// <summary>The responses from index <paramref name="from"/> on.</summary>
    public IReadOnlyList<ReceivedResponse> Since(int from)
    {
        lock (_log)
        {
            return _log.Skip(from).ToList();
        }
    }

    /// <summary>Waits for a response from index <paramref name="from"/> on that <paramref name="matches"/>; null on timeout.</summary>
    public async Task<ReceivedResponse?> WaitForAsync(int from, Func<ReceivedResponse, bool> matches, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var next = from;
        while (true)
        {
            Task changed;
            lock (_log)
            {
                for (; next < _log.Count; next++)
                {
                    if (matches(_log[next]))
                    {
                        return _log[next];
                    }
                }

                changed = _changed.Task;
            }

            var left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0 || Failure is not null)
            {
                return null;
            }

            await Task.WhenAny(changed, Task.Delay(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency), cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Waits until no response has arrived for <paramref name="quiet"/>, at most <paramref name="limit"/>.</summary>
    public async Task WaitQuietAsync(TimeSpan quiet, TimeSpan limit, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var last = Count;
        var since = Stopwatch.StartNew();
        while (since.Elapsed < quiet && clock.Elapsed < limit)
        {
            await Task.Delay(20, cancellationToken);
            if (Count != last)
            {
                (last, since) = (Count, Stopwatch.StartNew());
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _channel.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            var client = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(_channel);
            using var call = client.StreamAggregatedResources(cancellationToken: cancellationToken);
            var node = _node;
            foreach (var (type, names) in _subscriptions)
            {
                await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = type, ResourceNames = { names } }, cancellationToken);
                node = null;
            }

            await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                var received = Stopwatch.GetTimestamp();
                var markers = _markers;
                var (names, found, routes, scoped) = Decode(response, markers);
                _acked[response.TypeUrl] = (response.VersionInfo, response.Nonce);
                if (scoped && _subscriptions.TryAdd(TypeUrls.ScopedRouteConfiguration, []))
                {
                    // The listener loads its routes through scopes: subscribe to all of them, as Envoy does.
                    await call.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.ScopedRouteConfiguration }, cancellationToken);
                }

                if (routes is not null && !(_subscriptions.TryGetValue(TypeUrls.RouteConfiguration, out var current) && current.SequenceEqual(routes)))
                {
                    // The listeners (or scopes) name other route configurations: (re)subscribe, as Envoy does.
                    _subscriptions[TypeUrls.RouteConfiguration] = routes;
                    var (version, nonce) = _acked.GetValueOrDefault(TypeUrls.RouteConfiguration, ("", ""));
                    await call.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.RouteConfiguration, VersionInfo = version, ResponseNonce = nonce, ResourceNames = { routes } }, cancellationToken);
                }

                await call.RequestStream.WriteAsync(
                    new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce, ResourceNames = { _subscriptions.GetValueOrDefault(response.TypeUrl, []) } },
                    cancellationToken);
                var acked = Stopwatch.GetTimestamp();
                lock (_log)
                {
                    _log.Add(new ReceivedResponse(Name, received, acked, TypeUrls.ShortName(response.TypeUrl), response.VersionInfo, names, response.CalculateSize(), found));
                    _changed.TrySetResult();
                    _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Failure = e;
            lock (_log)
            {
                _changed.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Decodes every resource: its name, the markers it holds, for LDS and SRDS the route configurations they name, and
    /// whether a listener loads scopes (its RDS names then come from SRDS: none here).
    /// </summary>
    private static (string[] Names, HashSet<string> Markers, string[]? Routes, bool Scoped) Decode(DiscoveryResponse response, string[] markers)
    {
        var names = new List<string>();
        var found = new HashSet<string>(StringComparer.Ordinal);
        var scoped = false;
        var routes = response.TypeUrl is TypeUrls.Listener or TypeUrls.ScopedRouteConfiguration ? new SortedSet<string>(StringComparer.Ordinal) : null;
        foreach (var resource in response.Resources)
        {
            switch (response.TypeUrl)
            {
                case TypeUrls.ClusterLoadAssignment:
                    var assignment = ClusterLoadAssignment.Parser.ParseFrom(resource.Value);
                    names.Add(assignment.ClusterName);
                    foreach (var endpoint in assignment.Endpoints.SelectMany(l => l.LbEndpoints))
                    {
                        var marker = $"{assignment.ClusterName}|{endpoint.Endpoint?.Address?.SocketAddress?.Address}";
                        if (markers.Contains(marker))
                        {
                            found.Add(marker);
                        }
                    }

                    continue;
                case TypeUrls.Cluster:
                    names.Add(Cluster.Parser.ParseFrom(resource.Value).Name);
                    break;
                case TypeUrls.RouteConfiguration:
                    names.Add(RouteConfiguration.Parser.ParseFrom(resource.Value).Name);
                    break;
                case TypeUrls.ScopedRouteConfiguration:
                    var scope = ScopedRouteConfiguration.Parser.ParseFrom(resource.Value);
                    names.Add(scope.Name);
                    routes!.Add(scope.RouteConfigurationName);
                    break;
                case TypeUrls.Listener:
                    var listener = Listener.Parser.ParseFrom(resource.Value);
                    names.Add(listener.Name);
                    foreach (var typed in listener.FilterChains.SelectMany(c => c.Filters).Select(f => f.TypedConfig).Append(listener.ApiListener?.ApiListener_))
                    {
                        var hcm = typed is not null && typed.Is(Hcm.Descriptor) ? typed.Unpack<Hcm>() : null;
                        if (hcm?.Rds is { } rds)
                        {
                            routes!.Add(rds.RouteConfigName);
                        }

                        scoped |= hcm?.ScopedRoutes is not null;
                    }

                    break;
            }

            foreach (var marker in markers)
            {
                if (resource.Value.Span.IndexOf(Encoding.UTF8.GetBytes(marker)) >= 0)
                {
                    found.Add(marker);
                }
            }
        }

        // A scoped listener names no route configurations: its scopes do (an empty RDS subscription would be answered empty).
        return ([.. names], found, scoped && routes is { Count: 0 } ? null : routes?.ToArray(), scoped);
    }
}
