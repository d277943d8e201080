using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using TypeUrls = XdsControlPlane.Xds.Resources.TypeUrls;

namespace XdsControlPlane.Testing;

/// <summary>
/// A State-of-the-World ADS client shaped like Envoy for fault tests and benchmarks: CDS and LDS wildcard, EDS for the
/// EDS clusters CDS names, RDS for the route configurations the listeners name. It keeps the configuration it
/// accepted while its stream is down and redials with Envoy's backoff — <see cref="ReconnectDelay"/> doubling per failed
/// attempt up to 30 s, each wait between half and all of that, starting over once a stream got a response — sending
/// the versions and names it holds, as Envoy does. With <see cref="NackEverything"/> it rejects every response (keeping
/// what it held, still following the names the responses carry, so every type keeps being pushed). Kept small for
/// thousands in one process: counters and one digest per resource, no response log.
/// </summary>
internal sealed class ReconnectingAdsClient : IAsyncDisposable
{
    private static readonly string[] BaseTypes = [TypeUrls.Cluster, TypeUrls.Listener];

    /// <summary>Envoy's longest wait between attempts (grpc_stream.h, <c>RETRY_MAX_DELAY_MS</c>).</summary>
    private static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromSeconds(30);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Dictionary<string, string>> _held = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _versions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _names = new(StringComparer.Ordinal) { [TypeUrls.Cluster] = [], [TypeUrls.Listener] = [] };
    private readonly HashSet<string> _answeredOnStream = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly GrpcChannel _channel;
    private readonly bool _ownsChannel;
    private readonly Node _node;
    private Task _run = Task.CompletedTask;

    /// <summary>A client of node <paramref name="nodeId"/> with <c>sandboxctl.io/role</c> <paramref name="role"/> on <paramref name="channel"/> (shared channels multiplex streams on one connection; not disposed here).</summary>
    public ReconnectingAdsClient(string nodeId, string role, GrpcChannel channel)
        : this(nodeId, role, channel, ownsChannel: false)
    {
    }

    private ReconnectingAdsClient(string nodeId, string role, GrpcChannel channel, bool ownsChannel)
    {
        _node = new Node
        {
            Id = nodeId,
            Cluster = "faults",
            Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString(role) } },
            UserAgentName = "envoy",
        };
        (_channel, _ownsChannel) = (channel, ownsChannel);
    }

    /// <summary>A client on its own connection to <c>127.0.0.1:<paramref name="port"/></c>, from <paramref name="from"/> (another loopback address) when given.</summary>
    public static ReconnectingAdsClient Connect(string nodeId, string role, int port, IPAddress? from = null) =>
        new(nodeId, role, Channel(port, from), ownsChannel: true);

    /// <summary>A channel to <c>127.0.0.1:<paramref name="port"/></c>, from <paramref name="from"/> when given (Linux routes all of 127/8 to loopback).</summary>
    public static GrpcChannel Channel(int port, IPAddress? from = null)
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) };
        if (from is not null)
        {
            handler.ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(from, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancel);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        return GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = null });
    }

    /// <summary>The node id.</summary>
    public string NodeId => _node.Id;

    /// <summary>Reject every response with an <c>error_detail</c> instead of accepting it (set before <see cref="Start"/>).</summary>
    public bool NackEverything { get; set; }

    /// <summary>The first wait before redialling a lost stream (set before <see cref="Start"/>); it doubles per attempt that got no response, up to 30 s.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Streams opened so far (1 after the first connect, 2 after one reconnect…).</summary>
    public int Streams { get; private set; }

    /// <summary>Responses received on the current stream's generation <see cref="Streams"/> covering every subscribed type: the stream is in sync.</summary>
    public int SyncedStream { get; private set; }

    /// <summary>When the stream <see cref="SyncedStream"/> got its last missing type (a <see cref="Stopwatch"/> timestamp).</summary>
    public long SyncedAt { get; private set; }

    /// <summary>Responses received.</summary>
    public long Responses { get; private set; }

    /// <summary>NACKs sent.</summary>
    public long Nacks { get; private set; }

    /// <summary>Responses that changed a resource this client already held (content, or one removed from a full set).</summary>
    public long Changes { get; private set; }

    /// <summary>Responses whose type version differed from the one already held for that type (its first response excluded).</summary>
    public long VersionChanges { get; private set; }

    /// <summary>Why the last stream ended, when one did.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>The version held per type (short type names: <c>CDS</c>, <c>EDS</c>, <c>LDS</c>, <c>RDS</c>).</summary>
    public IReadOnlyDictionary<string, string> Versions
    {
        get
        {
            lock (_gate)
            {
                return _versions.ToDictionary(v => TypeUrls.ShortName(v.Key), v => v.Value, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Every resource held, as <c>TYPE name digest</c> lines in order: two clients holding the same text hold the same configuration.</summary>
    public string Configuration()
    {
        lock (_gate)
        {
            return string.Join('\n', _held.OrderBy(t => t.Key, StringComparer.Ordinal)
                .SelectMany(t => t.Value.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{TypeUrls.ShortName(t.Key)} {r.Key} {r.Value}")));
        }
    }

    /// <summary>Opens the stream (and keeps it open) until disposed.</summary>
    public void Start() => _run = RunAsync(_stop.Token);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_ownsChannel)
        {
            _channel.Dispose();
        }

        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var client = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(_channel);
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var before = Responses;
            try
            {
                await StreamAsync(client, cancellationToken);
                LastFailure = "the server ended the stream";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e) when (cancellationToken.IsCancellationRequested && e.StatusCode == StatusCode.Cancelled)
            {
                return;
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or HttpRequestException)
            {
                LastFailure = e.Message;
            }

            failures = Responses > before ? 1 : failures + 1;
            var delay = TimeSpan.FromTicks(Math.Min(ReconnectDelay.Ticks << Math.Min(failures - 1, 16), MaxReconnectDelay.Ticks)) * (0.5 + (Random.Shared.NextDouble() / 2));
            try
            {
                await Task.Delay(delay, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task StreamAsync(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, CancellationToken cancellationToken)
    {
        using var call = client.StreamAggregatedResources(cancellationToken: cancellationToken);
        List<DiscoveryRequest> first;
        lock (_gate)
        {
            Streams++;
            _answeredOnStream.Clear();

            // As Envoy on a new stream: the node once, each type with the version and names it holds, no nonce.
            first = [.. _names.OrderBy(n => Array.IndexOf(BaseTypes, n.Key) is var i && i < 0 ? int.MaxValue : i).Select(n => new DiscoveryRequest
            {
                TypeUrl = n.Key,
                VersionInfo = _versions.GetValueOrDefault(n.Key, ""),
                ResourceNames = { n.Value },
            })];
        }

        first[0].Node = _node;
        foreach (var request in first)
        {
            await call.RequestStream.WriteAsync(request, cancellationToken);
        }

        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            foreach (var request in Receive(response))
            {
                await call.RequestStream.WriteAsync(request, cancellationToken);
            }
        }
    }

    /// <summary>Takes one response in: what it holds now, the names it follows, and the requests to send (new subscriptions first, then the ACK or NACK).</summary>
    private List<DiscoveryRequest> Receive(DiscoveryResponse response)
    {
        var type = response.TypeUrl;
        var digests = response.Resources.ToDictionary(NameOf(type), r => Convert.ToHexString(SHA256.HashData(r.Value.Span))[..16], StringComparer.Ordinal);
        var requests = new List<DiscoveryRequest>();
        lock (_gate)
        {
            Responses++;
            foreach (var (follower, names) in Follow(type, response))
            {
                if (!_names.TryGetValue(follower, out var current) || !current.SequenceEqual(names))
                {
                    _names[follower] = names;
                    requests.Add(new DiscoveryRequest { TypeUrl = follower, VersionInfo = _versions.GetValueOrDefault(follower, ""), ResourceNames = { names } });
                }
            }

            if (NackEverything)
            {
                Nacks++;
                requests.Add(new DiscoveryRequest
                {
                    TypeUrl = type,
                    VersionInfo = _versions.GetValueOrDefault(type, ""),
                    ResponseNonce = response.Nonce,
                    ResourceNames = { _names.GetValueOrDefault(type, []) },
                    ErrorDetail = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = "rejected by a NACK-storm client" },
                });
            }
            else
            {
                Accept(type, response.VersionInfo, digests);
                requests.Add(new DiscoveryRequest { TypeUrl = type, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce, ResourceNames = { _names.GetValueOrDefault(type, []) } });
            }

            _answeredOnStream.Add(type);
            if (SyncedStream != Streams && _names.Keys.All(_answeredOnStream.Contains))
            {
                SyncedStream = Streams;
                SyncedAt = Stopwatch.GetTimestamp();
            }
        }

        return requests;
    }

    private void Accept(string type, string version, Dictionary<string, string> digests)
    {
        if (_versions.TryGetValue(type, out var before) && before != version)
        {
            VersionChanges++;
        }

        _versions[type] = version;
        var held = _held.TryGetValue(type, out var h) ? h : _held[type] = new Dictionary<string, string>(StringComparer.Ordinal);
        var fullSet = type is TypeUrls.Cluster or TypeUrls.Listener;
        var changed = digests.Any(d => held.TryGetValue(d.Key, out var old) && old != d.Value) || (fullSet && held.Keys.Any(k => !digests.ContainsKey(k)));
        if (changed)
        {
            Changes++;
        }

        if (fullSet)
        {
            held.Clear();
        }

        foreach (var (name, digest) in digests)
        {
            held[name] = digest;
        }
    }

    /// <summary>The names <paramref name="response"/> makes this client subscribe to: EDS from CDS, RDS from LDS.</summary>
    private static IEnumerable<(string Type, string[] Names)> Follow(string type, DiscoveryResponse response)
    {
        if (type == TypeUrls.Cluster)
        {
            yield return (TypeUrls.ClusterLoadAssignment, [.. response.Resources.Select(r => r.Unpack<Cluster>())
                .Where(c => c.Type == Cluster.Types.DiscoveryType.Eds)
                .Select(c => c.EdsClusterConfig?.ServiceName is { Length: > 0 } service ? service : c.Name)
                .Distinct().Order(StringComparer.Ordinal)]);
        }
        else if (type == TypeUrls.Listener)
        {
            yield return (TypeUrls.RouteConfiguration, [.. response.Resources.Select(r => r.Unpack<Listener>())
                .SelectMany(l => l.FilterChains.SelectMany(c => c.Filters).Select(f => f.TypedConfig).Append(l.ApiListener?.ApiListener_))
                .Where(typed => typed is not null && typed.Is(Hcm.Descriptor))
                .Select(typed => typed!.Unpack<Hcm>().Rds?.RouteConfigName)
                .OfType<string>().Distinct().Order(StringComparer.Ordinal)]);
        }
    }

    private static Func<Any, string> NameOf(string type) => type switch
    {
        TypeUrls.Cluster => r => r.Unpack<Cluster>().Name,
        TypeUrls.Listener => r => r.Unpack<Listener>().Name,
        TypeUrls.RouteConfiguration => r => r.Unpack<RouteConfiguration>().Name,
        TypeUrls.ClusterLoadAssignment => r => global::Envoy.Config.Endpoint.V3.ClusterLoadAssignment.Parser.ParseFrom(r.Value).ClusterName,
        _ => r => Convert.ToHexString(SHA256.HashData(r.Value.Span))[..16],
    };
}
