using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Service.Discovery.V3;
using Envoy.Service.Status.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Serilog.Formatting.Compact;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Server.GatewayTls;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The gateway's HTTPS certificate end to end in manifests mode: the server on a copy of the shop example with
/// <c>GatewayTls:CertFile</c>/<c>KeyFile</c> on real files, and a raw State-of-the-World ADS stream that subscribes like
/// an Envoy gateway (listeners and clusters as wildcards, the secret and the routes its listeners name). A rotation of
/// the files reaches the subscribed SDS stream and pushes no listener; a bad pair keeps the last good one and says why
/// once; the private key appears nowhere but on the SDS stream (not in /debug/snapshot, /metrics, CSDS or the log).
/// </summary>
[NonParallelizable]
public sealed class GatewayTlsHostTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly HostLog _log = new();
    private string _directory = "";
    private string _tls = "";

    [SetUp]
    public void CopyShop()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-tls-").FullName;
        _tls = Directory.CreateTempSubdirectory("xdscp-tls-files-").FullName;
        foreach (var file in Directory.GetFiles(RepoDirectory.Path("examples", "shop"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(_directory, Path.GetFileName(file)));
        }
    }

    [TearDown]
    public void Clean()
    {
        Directory.Delete(_directory, recursive: true);
        Directory.Delete(_tls, recursive: true);
        try
        {
            _log.AssertNoUnexpectedWarnings();
        }
        finally
        {
            _log.Clear();
        }
    }

    [Test]
    public async Task FileRotation_ReachesTheSdsStream_WithoutAListenerPush_AndABadPairKeepsTheLastGood()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var first = TestCertificates.Wildcard();
        WritePair(first);
        var (host, gateway) = await StartAsync(cancel.Token);
        await using var _ = host;
        await using var __ = gateway;
        await gateway.ReceiveUntilAsync(() => gateway.Synced && LeafOf(gateway) == first.ChainPem.Split("-----END CERTIFICATE-----")[0], cancel.Token);
        gateway.Log.Clear();

        var second = TestCertificates.Wildcard();
        WritePair(second);
        await gateway.ReceiveUntilAsync(() => LeafOf(gateway) == second.ChainPem.Split("-----END CERTIFICATE-----")[0], cancel.Token);

        _log.Expect("the certificate in use stays");
        File.WriteAllText(Path.Combine(_tls, "tls.key"), TestCertificates.Wildcard().KeyPem);
        await Eventually.WaitAsync(() => _log.Contains("tls.key: not the private key of the first certificate"), "the bad pair is refused", cancel.Token);
        await BarrierAsync(gateway, cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(gateway.Log.Select(TypeUrls.ShortName).ToArray(), Is.EqualTo(new[] { "SDS", "RDS" }), "the new secret, then the barrier's routes: no listener, no second secret");
            Assert.That(LeafOf(gateway), Is.EqualTo(second.ChainPem.Split("-----END CERTIFICATE-----")[0]), "the bad pair is not served");
            Assert.That(_log.Events.Count(e => e.EventId == 7321), Is.EqualTo(1), "said once");
        });
    }

    [Test]
    public async Task PrivateKey_IsOnTheSdsStreamOnly_NotInDebugSnapshotMetricsCsdsOrLogs()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var pair = TestCertificates.Wildcard();
        WritePair(pair);
        var (host, gateway) = await StartAsync(cancel.Token);
        await using var _ = host;
        await using var __ = gateway;
        await gateway.ReceiveUntilAsync(() => gateway.Holds("gateway-https") && gateway.Secret is not null, cancel.Token);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };
        var snapshot = await http.GetStringAsync(new Uri("/debug/snapshot", UriKind.Relative), cancel.Token);
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancel.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        var csds = await new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(channel).FetchClientStatusAsync(new ClientStatusRequest(), cancellationToken: cancel.Token);
        var logs = _log.Render(new CompactJsonFormatter()) + string.Join("\n", _log.Events.Select(e => e.Text));

        Assert.Multiple(() =>
        {
            Assert.That(gateway.Secret!.TlsCertificate.PrivateKey.InlineString, Does.Contain(pair.KeyLine), "the gateway gets its key");
            Assert.That(snapshot, Does.Contain("\"gateway-tls\"").And.Contain("redacted"));
            foreach (var (name, text) in new[] { ("/debug/snapshot", snapshot), ("/metrics", metrics), ("CSDS", csds.ToString()), ("CSDS bytes", csds.ToByteString().ToBase64()), ("log", logs) })
            {
                Assert.That(text, Does.Not.Contain(pair.KeyLine).And.Not.Contain("PRIVATE KEY"), name);
            }
        });
    }

    [Test]
    public async Task ExpiredCertificate_IsServed_AndWarnedOnce()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var expired = TestCertificates.Wildcard(notBefore: DateTimeOffset.UtcNow.AddDays(-100), lifetime: TimeSpan.FromDays(90));
        WritePair(expired);
        _log.Expect("browsers will refuse it");
        var (host, gateway) = await StartAsync(cancel.Token);
        await using var _ = host;
        await using var __ = gateway;
        await gateway.ReceiveUntilAsync(() => gateway.Synced, cancel.Token);

        // The same files again (a periodic check or a touch) do not warn again: the touch is read (the store is offered
        // the same certificate once more), and what that read pushed, if anything, has arrived.
        var store = host.Services.GetRequiredService<GatewayCertificateStore>();
        var offered = store.Offered;
        File.SetLastWriteTimeUtc(Path.Combine(_tls, "tls.crt"), DateTime.UtcNow);
        await Eventually.WaitAsync(() => store.Offered > offered, "the touched files are read again", cancel.Token);
        await BarrierAsync(gateway, cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(LeafOf(gateway), Is.EqualTo(expired.ChainPem.Split("-----END CERTIFICATE-----")[0]), "served: nothing better is at hand");
            Assert.That(_log.Events.Count(e => e.EventId == 7322), Is.EqualTo(1));
        });
    }

    /// <summary>Edits checkout's RouteGroup and waits for its routes: anything pushed before has arrived.</summary>
    private async Task BarrierAsync(RawGateway gateway, CancellationToken cancellationToken)
    {
        var file = Path.Combine(_directory, "routing.yaml");
        await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(file, cancellationToken)).Replace("timeout: 5s", "timeout: 7s", StringComparison.Ordinal), cancellationToken);
        await gateway.ReceiveUntilAsync(() => gateway.Log.Contains(TypeUrls.RouteConfiguration), cancellationToken);
    }

    private void WritePair(TestCertificate pair)
    {
        File.WriteAllText(Path.Combine(_tls, "tls.crt"), pair.ChainPem);
        File.WriteAllText(Path.Combine(_tls, "tls.key"), pair.KeyPem);
    }

    private static string? LeafOf(RawGateway gateway) => gateway.Secret?.TlsCertificate.CertificateChain.InlineString.Split("-----END CERTIFICATE-----")[0];

    private async Task<(ServerHost Host, RawGateway Gateway)> StartAsync(CancellationToken cancellationToken)
    {
        var host = await new InProcessServer()
            .WithManifests(_directory)
            .With("GatewayTls:CertFile", Path.Combine(_tls, "tls.crt"))
            .With("GatewayTls:KeyFile", Path.Combine(_tls, "tls.key"))
            .With("GatewayTls:RetryInterval", TimeSpan.FromMilliseconds(200))
            .WithLog(_log)
            .StartAsync(cancellationToken);
        return (host, new RawGateway(host.XdsPort));
    }

    /// <summary>
    /// A raw SotW ADS stream subscribing as an Envoy gateway does: LDS and CDS wildcards, then the routes and the secret
    /// its listeners name; every response ACKed. Logs each response's type after construction.
    /// </summary>
    private sealed class RawGateway : IAsyncDisposable
    {
        private readonly GrpcChannel _channel;
        private readonly AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> _stream;
        private readonly Channel<DiscoveryResponse> _received = Channel.CreateUnbounded<DiscoveryResponse>();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _reading;
        private readonly Dictionary<string, Dictionary<string, Any>> _held = [];

        public RawGateway(int port)
        {
            _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            _stream = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(_channel).StreamAggregatedResources(cancellationToken: _stop.Token);
            _reading = Task.Run(async () =>
            {
                await foreach (var response in _stream.ResponseStream.ReadAllAsync(_stop.Token))
                {
                    await _received.Writer.WriteAsync(response, _stop.Token);
                }
            });
            var node = new Node { Id = "gateway-1", Cluster = "edge", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("gateway") } } };
            Sent = _stream.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = TypeUrls.Listener })
                .ContinueWith(_ => _stream.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.Cluster }), TaskScheduler.Default).Unwrap()
                .ContinueWith(_ => _stream.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.Secret, ResourceNames = { "gateway-tls" } }), TaskScheduler.Default).Unwrap()
                .ContinueWith(_ => _stream.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.RouteConfiguration, ResourceNames = { "gateway-http" } }), TaskScheduler.Default).Unwrap();
        }

        private Task Sent { get; }

        /// <summary>The type of every response received since the log was last cleared, in order.</summary>
        public List<string> Log { get; } = [];

        /// <summary>The secret held, if any.</summary>
        public Secret? Secret => _held.GetValueOrDefault(TypeUrls.Secret)?.GetValueOrDefault("gateway-tls")?.Unpack<Secret>();

        /// <summary>Whether the client holds both listeners, the secret and the routes they load.</summary>
        public bool Synced => Holds("gateway-https") && Secret is not null && _held.GetValueOrDefault(TypeUrls.RouteConfiguration)?.ContainsKey("gateway-http") == true;

        /// <summary>Whether the client holds listener <paramref name="name"/>.</summary>
        public bool Holds(string name) => _held.GetValueOrDefault(TypeUrls.Listener)?.ContainsKey(name) == true;

        public async Task ReceiveUntilAsync(Func<bool> done, CancellationToken cancellationToken)
        {
            await Sent.WaitAsync(cancellationToken);
            while (!done())
            {
                var response = await _received.Reader.ReadAsync(cancellationToken);
                var held = _held.TryGetValue(response.TypeUrl, out var named) ? named : _held[response.TypeUrl] = [];
                if (response.TypeUrl is TypeUrls.Listener or TypeUrls.Cluster)
                {
                    held.Clear();
                }

                foreach (var resource in response.Resources)
                {
                    held[NameOf(resource)] = resource;
                }

                Log.Add(response.TypeUrl);
                string[] names = response.TypeUrl switch
                {
                    TypeUrls.Secret => ["gateway-tls"],
                    TypeUrls.RouteConfiguration => ["gateway-http"],
                    _ => [],
                };
                await _stream.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce, ResourceNames = { names } }, cancellationToken);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stream.RequestStream.CompleteAsync();
            await _stop.CancelAsync();
            await _reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _stream.Dispose();
            _channel.Dispose();
            _stop.Dispose();
        }

        private static string NameOf(Any resource) => resource.TypeUrl switch
        {
            TypeUrls.Listener => resource.Unpack<global::Envoy.Config.Listener.V3.Listener>().Name,
            TypeUrls.Cluster => resource.Unpack<global::Envoy.Config.Cluster.V3.Cluster>().Name,
            TypeUrls.Secret => resource.Unpack<Secret>().Name,
            TypeUrls.RouteConfiguration => resource.Unpack<global::Envoy.Config.Route.V3.RouteConfiguration>().Name,
            _ => resource.TypeUrl,
        };
    }
}
