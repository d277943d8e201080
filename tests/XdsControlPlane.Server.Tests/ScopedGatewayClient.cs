using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// A raw ADS stream (State of the World or Delta) that subscribes like an Envoy gateway with scoped routes: listeners
/// and scopes as wildcards, route configurations by the names its scopes load (subscribing and unsubscribing as the
/// scopes change, as Envoy does), every response ACKed. It keeps what it holds of each type (name → bytes) and, in
/// order, what each response carried.
/// </summary>
internal sealed class ScopedGatewayClient : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse>? _sotw;
    private readonly AsyncDuplexStreamingCall<DeltaDiscoveryRequest, DeltaDiscoveryResponse>? _delta;
    private readonly Channel<IMessage> _received = Channel.CreateUnbounded<IMessage>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _reading;
    private Node? _node = new() { Id = "gateway-1", Cluster = "edge", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("gateway") } } };
    private string[] _routeNames = [];
    private (string Version, string Nonce) _lastRoutes = ("", "");

    private ScopedGatewayClient(int port, bool delta)
    {
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxReceiveMessageSize = null });
        var client = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(_channel);
        if (delta)
        {
            _delta = client.DeltaAggregatedResources(cancellationToken: _stop.Token);
            _reading = ReadAsync(_delta.ResponseStream);
        }
        else
        {
            _sotw = client.StreamAggregatedResources(cancellationToken: _stop.Token);
            _reading = ReadAsync(_sotw.ResponseStream);
        }
    }

    /// <summary>One response: its type, the names it carried (added or updated) and, in Delta, the names it removed.</summary>
    internal sealed record Received(string TypeUrl, string[] Names, string[] Removed);

    /// <summary>What the client holds, by type URL, name → serialized resource.</summary>
    public Dictionary<string, SortedDictionary<string, ByteString>> Held { get; } = new()
    {
        [TypeUrls.Listener] = new(StringComparer.Ordinal),
        [TypeUrls.ScopedRouteConfiguration] = new(StringComparer.Ordinal),
        [TypeUrls.RouteConfiguration] = new(StringComparer.Ordinal),
    };

    /// <summary>Every response since <see cref="ConnectAsync"/> returned, in order.</summary>
    public List<Received> Log { get; } = [];

    /// <summary>Whether the client holds a listener, scopes, and the route configuration of every scope.</summary>
    public bool Synced => Held[TypeUrls.Listener].Count > 0 && Held[TypeUrls.ScopedRouteConfiguration].Count > 0
        && _routeNames.All(Held[TypeUrls.RouteConfiguration].ContainsKey);

    /// <summary>A client connected to the xDS port <paramref name="port"/> and holding everything the gateway is served.</summary>
    public static async Task<ScopedGatewayClient> ConnectAsync(int port, bool delta, CancellationToken cancellationToken)
    {
        var client = new ScopedGatewayClient(port, delta);
        await client.SubscribeAsync(TypeUrls.Listener, [], []);
        await client.SubscribeAsync(TypeUrls.ScopedRouteConfiguration, [], []);
        await client.ReceiveUntilAsync(() => client.Synced, cancellationToken);
        client.Log.Clear();
        return client;
    }

    /// <summary>Handles (and ACKs) responses until <paramref name="done"/> holds.</summary>
    public async Task ReceiveUntilAsync(Func<bool> done, CancellationToken cancellationToken)
    {
        while (!done())
        {
            var response = await _received.Reader.ReadAsync(cancellationToken);
            await (response is DeltaDiscoveryResponse delta ? ApplyAsync(delta) : ApplyAsync((DiscoveryResponse)response));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await (_sotw?.RequestStream.CompleteAsync() ?? _delta!.RequestStream.CompleteAsync());
        await _stop.CancelAsync();
        await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _sotw?.Dispose();
        _delta?.Dispose();
        _channel.Dispose();
        _stop.Dispose();
    }

    private static string NameOf(Any resource) => resource.TypeUrl switch
    {
        TypeUrls.Listener => resource.Unpack<Listener>().Name,
        TypeUrls.ScopedRouteConfiguration => resource.Unpack<ScopedRouteConfiguration>().Name,
        TypeUrls.RouteConfiguration => resource.Unpack<RouteConfiguration>().Name,
        _ => throw new AssertionException($"a gateway with scoped routes was sent {resource.TypeUrl}"),
    };

    private async Task ApplyAsync(DiscoveryResponse response)
    {
        var held = Held[response.TypeUrl];
        if (response.TypeUrl != TypeUrls.RouteConfiguration)
        {
            held.Clear(); // listeners and scopes: every response is the whole set
        }

        var names = response.Resources.Select(r => (Name: NameOf(r), r.Value)).ToArray();
        foreach (var (name, value) in names)
        {
            held[name] = value;
        }

        Log.Add(new(response.TypeUrl, [.. names.Select(n => n.Name)], []));
        _lastRoutes = response.TypeUrl == TypeUrls.RouteConfiguration ? (response.VersionInfo, response.Nonce) : _lastRoutes;
        await SendAsync(new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce, ResourceNames = { NamesOf(response.TypeUrl) } });
        if (response.TypeUrl == TypeUrls.ScopedRouteConfiguration)
        {
            var (added, removed) = ScopesChangedRoutes();
            if (added.Length + removed.Length > 0)
            {
                // As Envoy does (grpc_mux_impl.cc keeps the type's last version_info and nonce on the request).
                await SendAsync(new DiscoveryRequest { TypeUrl = TypeUrls.RouteConfiguration, VersionInfo = _lastRoutes.Version, ResponseNonce = _lastRoutes.Nonce, ResourceNames = { _routeNames } });
            }
        }
    }

    private async Task ApplyAsync(DeltaDiscoveryResponse response)
    {
        var held = Held[response.TypeUrl];
        foreach (var resource in response.Resources)
        {
            held[resource.Name] = resource.Resource_.Value;
        }

        foreach (var removed in response.RemovedResources)
        {
            held.Remove(removed);
        }

        Log.Add(new(response.TypeUrl, [.. response.Resources.Select(r => r.Name)], [.. response.RemovedResources]));
        await SendAsync(new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce });
        if (response.TypeUrl == TypeUrls.ScopedRouteConfiguration)
        {
            var (added, removed) = ScopesChangedRoutes();
            if (added.Length + removed.Length > 0)
            {
                await SubscribeAsync(TypeUrls.RouteConfiguration, added, removed);
            }
        }
    }

    /// <summary>Takes the route configurations the held scopes load as the RDS subscription; drops what is no longer loaded (Envoy forgets an unsubscribed route configuration).</summary>
    private (string[] Added, string[] Removed) ScopesChangedRoutes()
    {
        string[] wanted = [.. Held[TypeUrls.ScopedRouteConfiguration].Values.Select(v => ScopedRouteConfiguration.Parser.ParseFrom(v).RouteConfigurationName).Distinct().Order(StringComparer.Ordinal)];
        var added = wanted.Except(_routeNames).ToArray();
        var removed = _routeNames.Except(wanted).ToArray();
        _routeNames = wanted;
        foreach (var name in removed)
        {
            Held[TypeUrls.RouteConfiguration].Remove(name);
        }

        return (added, removed);
    }

    private string[] NamesOf(string typeUrl) => typeUrl == TypeUrls.RouteConfiguration ? _routeNames : [];

    private Task SubscribeAsync(string typeUrl, string[] subscribe, string[] unsubscribe) => _delta is not null
        ? SendAsync(new DeltaDiscoveryRequest { TypeUrl = typeUrl, ResourceNamesSubscribe = { subscribe }, ResourceNamesUnsubscribe = { unsubscribe } })
        : SendAsync(new DiscoveryRequest { TypeUrl = typeUrl, ResourceNames = { subscribe } });

    private Task SendAsync(DiscoveryRequest request)
    {
        if (_node is not null)
        {
            (request.Node, _node) = (_node, null);
        }

        return _sotw!.RequestStream.WriteAsync(request);
    }

    private Task SendAsync(DeltaDiscoveryRequest request)
    {
        if (_node is not null)
        {
            (request.Node, _node) = (_node, null);
        }

        return _delta!.RequestStream.WriteAsync(request);
    }

    private async Task ReadAsync<T>(IAsyncStreamReader<T> responses)
        where T : IMessage
    {
        await foreach (var response in responses.ReadAllAsync(_stop.Token))
        {
            await _received.Writer.WriteAsync(response, _stop.Token);
        }
    }
}
