using System.Threading.Channels;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// What a change pushes, end to end: the server host on a manifest directory (the shop example) and a raw ADS stream
/// that behaves like an Envoy sidecar (wildcard CDS and LDS, EDS and RDS by name, every response ACKed). An endpoint
/// edit must reach the client as an EDS response carrying only the changed Service's assignments, a RouteGroup edit as
/// an RDS response only, and a file rewritten without a change as nothing at all.
/// </summary>
[NonParallelizable]
public sealed class PushScopeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1.5);
    private readonly HostLog _log = new();
    private string _directory = "";
    private ServerHost? _host;
    private SidecarStream? _sidecar;

    private SidecarStream Sidecar => _sidecar!;

    [SetUp]
    public async Task StartAsync()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-push-").FullName;
        foreach (var file in Directory.GetFiles(RepoDirectory.Path("examples", "shop"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(_directory, Path.GetFileName(file)));
        }

        using var cancel = new CancellationTokenSource(Timeout);
        _host = await new InProcessServer().WithManifests(_directory).WithLog(_log).StartAsync(cancel.Token);
        _sidecar = await SidecarStream.ConnectAsync(_host.XdsPort, cancel.Token);
    }

    [TearDown]
    public async Task StopAsync()
    {
        if (_sidecar is not null)
        {
            await _sidecar.DisposeAsync();
        }

        if (_host is not null)
        {
            using var cancel = new CancellationTokenSource(Timeout);
            await _host.StopAsync(cancel.Token);
            await _host.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task EndpointSliceEdit_PushesOnlyThatServicesAssignments()
    {
        await EditAsync("endpointslices.yaml", text => ReplaceOnce(text, "metadata: {name: cart-1,", "127.0.0.1]", "127.0.0.2]"));
        var pushed = await Sidecar.ReceiveUntilQuietAsync(Quiet);

        Assert.Multiple(() =>
        {
            Assert.That(pushed.Select(r => r.TypeUrl), Is.EqualTo(new[] { TypeUrls.ClusterLoadAssignment }), "one EDS response, no CDS, LDS or RDS");
            Assert.That(pushed.SelectMany(r => r.Resources).Select(Name), Is.EquivalentTo(new[] { "outbound|8080||cart.shop.svc.cluster.local", "outbound|9090||cart.shop.svc.cluster.local" }));
        });
    }

    [Test]
    public async Task RouteGroupEdit_PushesOnlyRoutes()
    {
        await EditAsync("routing.yaml", text => text.Replace("match: {pathPrefix: /api/v2}", "match: {pathPrefix: /api/v3}", StringComparison.Ordinal));
        var pushed = await Sidecar.ReceiveUntilQuietAsync(Quiet);

        Assert.Multiple(() =>
        {
            Assert.That(pushed.Select(r => r.TypeUrl), Is.EqualTo(new[] { TypeUrls.RouteConfiguration }), "one RDS response, nothing else");
            Assert.That(pushed.SelectMany(r => r.Resources).Select(Name), Is.EqualTo(new[] { "8080" }), "only the port whose routes changed");
        });
    }

    [Test]
    public async Task FileRewrittenWithoutAChange_PushesNothing()
    {
        // The rewrite is read and applied (the source says what it loaded after each pass that took its files)...
        var loads = Loads();
        await EditAsync("routing.yaml", text => text + "\n# a comment only\n");
        await Eventually.WaitAsync(() => Loads() > loads, "the rewritten file to be read and applied");

        // ...and a later real edit is the first thing pushed: passes are applied in order, so anything the rewrite
        // pushed would have arrived before it.
        await EditAsync("endpointslices.yaml", text => ReplaceOnce(text, "metadata: {name: cart-1,", "127.0.0.1]", "127.0.0.2]"));
        var pushed = await Sidecar.ReceiveUntilAsync(r => r.TypeUrl == TypeUrls.ClusterLoadAssignment);

        Assert.That(pushed.Select(r => r.TypeUrl), Is.EqualTo(new[] { TypeUrls.ClusterLoadAssignment }), "nothing before the barrier's EDS response");
    }

    private int Loads() => _log.Events.Count(e => e.Text.StartsWith("Loaded manifests", StringComparison.Ordinal));

    private async Task EditAsync(string file, Func<string, string> edit)
    {
        var path = Path.Combine(_directory, file);
        var before = await File.ReadAllTextAsync(path);
        var after = edit(before);
        Assert.That(after, Is.Not.EqualTo(before), "the edit applies");
        await File.WriteAllTextAsync(path + ".tmp", after);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static string ReplaceOnce(string text, string after, string old, string replacement)
    {
        var start = text.IndexOf(after, StringComparison.Ordinal);
        var at = text.IndexOf(old, start, StringComparison.Ordinal);
        return string.Concat(text.AsSpan(0, at), replacement, text.AsSpan(at + old.Length));
    }

    private static string Name(Any resource) => resource.TypeUrl switch
    {
        TypeUrls.ClusterLoadAssignment => resource.Unpack<ClusterLoadAssignment>().ClusterName,
        TypeUrls.RouteConfiguration => resource.Unpack<RouteConfiguration>().Name,
        TypeUrls.Cluster => resource.Unpack<Cluster>().Name,
        _ => resource.Unpack<Listener>().Name,
    };

    /// <summary>An ADS stream that subscribes and ACKs like an Envoy sidecar; what arrives after it synced is queued.</summary>
    private sealed class SidecarStream : IAsyncDisposable
    {
        private readonly GrpcChannel _channel;
        private readonly AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> _call;
        private readonly Channel<DiscoveryResponse> _received = Channel.CreateUnbounded<DiscoveryResponse>();
        private readonly Dictionary<string, string[]> _names = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _reading;
        private Node? _node = new() { Id = "sidecar-1", Cluster = "shop", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("sidecar") } } };

        private SidecarStream(int port)
        {
            _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxReceiveMessageSize = null });
            _call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(_channel).StreamAggregatedResources(cancellationToken: _stop.Token);
            _reading = ReadAsync();
        }

        public static async Task<SidecarStream> ConnectAsync(int port, CancellationToken cancellationToken)
        {
            var stream = new SidecarStream(port);
            await stream.SubscribeAsync(TypeUrls.Cluster, []);
            var clusters = await stream.NextAsync(cancellationToken);
            await stream.AckAsync(clusters);
            var edsNames = clusters.Resources.Select(r => r.Unpack<Cluster>())
                .Where(c => c.Type == Cluster.Types.DiscoveryType.Eds).Select(c => c.Name).ToArray();
            await stream.SubscribeAsync(TypeUrls.ClusterLoadAssignment, edsNames);
            await stream.AckAsync(await stream.NextAsync(cancellationToken));
            await stream.SubscribeAsync(TypeUrls.Listener, []);
            var listeners = await stream.NextAsync(cancellationToken);
            await stream.AckAsync(listeners);
            var routeNames = listeners.Resources.SelectMany(r => XdsResource.Create(r.Unpack<Listener>()).References.RouteConfigurations).Distinct().ToArray();
            await stream.SubscribeAsync(TypeUrls.RouteConfiguration, routeNames);
            await stream.AckAsync(await stream.NextAsync(cancellationToken));
            Assert.That(await stream.ReceiveUntilQuietAsync(Quiet), Is.Empty, "synced: nothing more to send");
            return stream;
        }

        /// <summary>Every response (each ACKed) until none came for <paramref name="quiet"/>.</summary>
        public async Task<List<DiscoveryResponse>> ReceiveUntilQuietAsync(TimeSpan quiet)
        {
            var responses = new List<DiscoveryResponse>();
            using var limit = new CancellationTokenSource(Timeout);
            while (true)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(limit.Token);
                wait.CancelAfter(responses.Count == 0 ? quiet + TimeSpan.FromSeconds(2) : quiet);
                try
                {
                    var response = await _received.Reader.ReadAsync(wait.Token);
                    responses.Add(response);
                    await AckAsync(response);
                }
                catch (OperationCanceledException) when (!limit.IsCancellationRequested)
                {
                    return responses;
                }
            }
        }

        /// <summary>Every response (each ACKed) up to and including the first that <paramref name="last"/> accepts.</summary>
        public async Task<List<DiscoveryResponse>> ReceiveUntilAsync(Func<DiscoveryResponse, bool> last)
        {
            var responses = new List<DiscoveryResponse>();
            using var limit = new CancellationTokenSource(Timeout);
            while (responses.Count == 0 || !last(responses[^1]))
            {
                var response = await _received.Reader.ReadAsync(limit.Token);
                responses.Add(response);
                await AckAsync(response);
            }

            return responses;
        }

        public async ValueTask DisposeAsync()
        {
            await _call.RequestStream.CompleteAsync();
            await _stop.CancelAsync();
            await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _call.Dispose();
            _channel.Dispose();
            _stop.Dispose();
        }

        private async Task<DiscoveryResponse> NextAsync(CancellationToken cancellationToken) => await _received.Reader.ReadAsync(cancellationToken);

        private Task SubscribeAsync(string typeUrl, string[] names)
        {
            _names[typeUrl] = names;
            return SendAsync(new DiscoveryRequest { TypeUrl = typeUrl, ResourceNames = { names } });
        }

        private Task AckAsync(DiscoveryResponse response) => SendAsync(new DiscoveryRequest
        {
            TypeUrl = response.TypeUrl,
            VersionInfo = response.VersionInfo,
            ResponseNonce = response.Nonce,
            ResourceNames = { _names[response.TypeUrl] },
        });

        private Task SendAsync(DiscoveryRequest request)
        {
            if (_node is not null)
            {
                request.Node = _node;
                _node = null;
            }

            return _call.RequestStream.WriteAsync(request);
        }

        private async Task ReadAsync()
        {
            await foreach (var response in _call.ResponseStream.ReadAllAsync(_stop.Token))
            {
                await _received.Writer.WriteAsync(response, _stop.Token);
            }
        }
    }
}
