using System.Text.Json.Nodes;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation;
using XdsControlPlane.Xds.Resources;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// Publication never waits for status, and an endpoint change never waits for a translation of something else, end to
/// end: the server host with <c>--kubernetes</c> against the fake API server, translation and publication counted (or
/// held) where the host calls them, and a raw ADS stream subscribed to EDS.
/// </summary>
public sealed class StatusPriorityTests
{
    private const string Cart = "outbound|8080||cart.shop.svc.cluster.local";
    private readonly HostLog _log = new();
    private FakeApiServer _api = null!;
    private int _translations;
    private int _publications;
    private RoutingInputs? _published;

    [SetUp]
    public async Task StartAsync()
    {
        _log.Clear();
        _api = await FakeApiServer.StartAsync();
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart-v2"));
        _api.Put(FakeApiServer.EndpointSlices, Slice("10.0.0.1"));
        _api.Put(FakeApiServer.RouteGroups, StatusWriteTests.Group("first", "a"));
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _api.DisposeAsync();
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task OwnStatusWrite_ComesBack_NeitherTranslatedNorPublished()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = await StartHostAsync(cancel.Token);
        await Eventually.WaitAsync(() => ObservedGeneration("first") == 1, "the first status of the RouteGroup");

        // An edit: one translation and publication, then our status write for generation 2, whose watch event comes back.
        var (translations, publications) = (Volatile.Read(ref _translations), Volatile.Read(ref _publications));
        _api.Put(FakeApiServer.RouteGroups, StatusWriteTests.Group("first", "b"));
        await Eventually.WaitAsync(() => ObservedGeneration("first") == 2, "the status write for the edit");

        // A barrier after it in the same watch: once the barrier is published, the status write's event has been seen.
        _api.Put(FakeApiServer.RouteGroups, StatusWriteTests.Group("barrier", "c"));
        await Eventually.WaitAsync(() => Volatile.Read(ref _published)?.RouteGroups.Any(g => g.Metadata.Name == "barrier") == true, "the barrier RouteGroup published");

        Assert.Multiple(() =>
        {
            Assert.That(Volatile.Read(ref _translations) - translations, Is.EqualTo(2), "translated: the edit and the barrier, not the status write");
            Assert.That(Volatile.Read(ref _publications) - publications, Is.EqualTo(2), "published: the edit and the barrier, not the status write");
        });
    }

    [Test]
    public async Task StatusWritesHeldBack_EndpointSliceEdit_ReachesTheEdsStream()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = await StartHostAsync(cancel.Token);
        await Eventually.WaitAsync(() => ObservedGeneration("first") == 1, "the first status of the RouteGroup");
        using var eds = await EdsStream.OpenAsync(host.XdsPort, cancel.Token);
        await eds.ReceiveAsync("10.0.0.1", cancel.Token);

        // The API server answers no status write now (slow, or throttling us), and many RouteGroups need one.
        var release = new TaskCompletionSource();
        _api.HoldStatusPatches(release.Task);
        try
        {
            var held = _api.StatusPatches.Count;
            for (var i = 0; i < 20; i++)
            {
                _api.Put(FakeApiServer.RouteGroups, StatusWriteTests.Group($"new-{i}", $"new-{i}"));
            }

            await Eventually.WaitAsync(() => _api.StatusPatches.Count > held, "status writes sent (and held)");

            // Endpoints move meanwhile: the EDS stream gets them while every status write hangs.
            _api.Put(FakeApiServer.EndpointSlices, Slice("10.0.0.2"));
            await eds.ReceiveAsync("10.0.0.2", cancel.Token);
        }
        finally
        {
            release.SetResult();
        }

        // Nothing is lost: once the API server answers, every RouteGroup gets its status.
        for (var i = 0; i < 20; i++)
        {
            var name = $"new-{i}";
            await Eventually.WaitAsync(() => ObservedGeneration(name) == 1, $"the status of {name} once the writes are answered");
        }
    }

    [Test]
    public async Task TranslationInProgress_EndpointSliceEdit_ReachesTheEdsStreamAndStays()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var translator = new HoldingTranslator();
        await using var host = await new InProcessServer()
            .WithServices(services => services.AddSingleton<IRoutingTranslator>(provider => translator.Around(provider.GetRequiredService<RoutingTranslator>())))
            .WithLog(_log)
            .WithKubernetesApi(_api.Url)
            .StartAsync(cancel.Token);
        using var eds = await EdsStream.OpenAsync(host.XdsPort, cancel.Token);
        await eds.ReceiveAsync("10.0.0.1", cancel.Token);

        // A new Service needs a full translation, which is now held half-way (as a long one would be); endpoints move
        // meanwhile, and the EDS stream gets them while that translation has not finished.
        var translations = translator.Translations;
        translator.Hold();
        await EndpointEditWhileNewServiceHeldAsync(translator.Entered, eds, cancel.Token);
        Assert.That(translator.Held, Is.True, "the endpoint change was published while the translation was still in progress");

        // The held translation read the old endpoints; once it is published, the new ones stay (a later edit is the barrier).
        translator.Release();
        await Eventually.WaitAsync(() => translator.Translations >= translations + 2, "the held translation and the pass with the endpoint change");
        await LaterEditArrivesEndpointsNeverWentBackAsync(eds, cancel.Token);
    }

    [Test]
    public async Task PublicationOfANewServiceHeld_EndpointSliceEdit_StillReachesTheEdsStream()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var publication = new HoldingPublicationLog();
        await using var host = await new InProcessServer()
            .WithServices(services => services.AddSingleton<Serilog.Core.ILogEventSink>(publication))
            .WithLog(_log)
            .WithKubernetesApi(_api.Url)
            .StartAsync(cancel.Token);
        using var eds = await EdsStream.OpenAsync(host.XdsPort, cancel.Token);
        await eds.ReceiveAsync("10.0.0.1", cancel.Token);

        // A new Service: the pass that publishes its clusters and routes is held in the middle of publishing them (at its
        // first group's "Published" line, as a slow publication of a big change would be); endpoints move meanwhile, and
        // the EDS stream gets them while that publication is still in progress.
        publication.Hold();
        await EndpointEditWhileNewServiceHeldAsync(publication.Entered, eds, cancel.Token);
        Assert.That(publication.Held, Is.True, "the endpoint change was published while the new Service's publication was held");

        // Once released, the held publication does not take the endpoints back (a later edit is the barrier).
        publication.Release();
        await LaterEditArrivesEndpointsNeverWentBackAsync(eds, cancel.Token);
    }

    [Test]
    public async Task Start_StatusRateOutOfRange_FailsNamingEachSetting()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = new InProcessServer()
            .WithKubernetesApi(_api.Url)
            .With("Kubernetes:StatusQps", 0)
            .With("Kubernetes:StatusBurst", -1)
            .With("Kubernetes:StatusConcurrency", 1000)
            .Create();

        var failure = Assert.CatchAsync(async () => await host.StartAsync(cancel.Token));

        Assert.That(XdsControlPlane.Server.ServerHost.OptionsProblems(failure!), Has.Some.Contains("StatusQps").And.Some.Contains("StatusBurst").And.Some.Contains("StatusConcurrency"));
    }

    private async Task<XdsControlPlane.Server.ServerHost> StartHostAsync(CancellationToken cancellationToken) =>
        await new InProcessServer()
            .WithServices(services => services.AddSingleton<IRoutingTranslator>(provider => new CountingTranslator(provider.GetRequiredService<RoutingTranslator>(), () => Interlocked.Increment(ref _translations))))
            .WithServices(services => services.AddSingleton<XdsControlPlane.Sources.IRoutingPublisher>(provider => new CountingPublisher(provider.GetRequiredService<XdsControlPlane.Server.SnapshotPublisher>(), this)))
            .WithLog(_log)
            .WithKubernetesApi(_api.Url)
            .StartAsync(cancellationToken);

    private long? ObservedGeneration(string name) => (long?)_api.Get(FakeApiServer.RouteGroups, "shop", name)?["status"]?["observedGeneration"];

    /// <summary>Adds a Service (a pass that translates and publishes its clusters and routes), waits until <paramref name="held"/> says that pass is held, then moves cart's endpoints and reads them from <paramref name="eds"/>.</summary>
    private async Task EndpointEditWhileNewServiceHeldAsync(Task held, EdsStream eds, CancellationToken cancellationToken)
    {
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "other"));
        await held.WaitAsync(cancellationToken);
        _api.Put(FakeApiServer.EndpointSlices, Slice("10.0.0.2"));
        await eds.ReceiveAsync("10.0.0.2", cancellationToken);
    }

    /// <summary>A later endpoint edit is the barrier: once it arrives, the stream never went back to the first address after the second.</summary>
    private async Task LaterEditArrivesEndpointsNeverWentBackAsync(EdsStream eds, CancellationToken cancellationToken)
    {
        _api.Put(FakeApiServer.EndpointSlices, Slice("10.0.0.3"));
        await eds.ReceiveAsync("10.0.0.3", cancellationToken);
        Assert.That(eds.Seen.SkipWhile(address => address != "10.0.0.2"), Is.EqualTo(new[] { "10.0.0.2", "10.0.0.3" }), "the endpoints never went back to 10.0.0.1");
    }

    /// <summary>Reads EDS responses (ACKing each) until one holds <paramref name="address"/>; records the address of each.</summary>
    private static async Task ReceiveAddressAsync(AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> call, string address, List<string> seen, CancellationToken cancellationToken)
    {
        while (true)
        {
            Assert.That(await call.ResponseStream.MoveNext(cancellationToken), Is.True, "the EDS stream is open");
            var response = call.ResponseStream.Current;
            await call.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = response.TypeUrl, VersionInfo = response.VersionInfo, ResponseNonce = response.Nonce, ResourceNames = { Cart } }, cancellationToken);
            var addresses = response.Resources.Select(r => r.Unpack<ClusterLoadAssignment>()).Where(c => c.ClusterName == Cart)
                .SelectMany(c => c.Endpoints).SelectMany(e => e.LbEndpoints).Select(e => e.Endpoint.Address.SocketAddress.Address).ToList();
            seen.AddRange(addresses);
            if (addresses.Contains(address))
            {
                return;
            }
        }
    }

    private static JsonObject Slice(string address) => new()
    {
        ["apiVersion"] = "discovery.k8s.io/v1",
        ["kind"] = "EndpointSlice",
        ["metadata"] = new JsonObject { ["name"] = "cart-1", ["namespace"] = "shop", ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = "cart" } },
        ["addressType"] = "IPv4",
        ["ports"] = new JsonArray(new JsonObject { ["name"] = "http", ["port"] = 18080, ["protocol"] = "TCP" }),
        ["endpoints"] = new JsonArray(new JsonObject { ["addresses"] = new JsonArray(address) }),
    };

    private sealed class CountingTranslator(IRoutingTranslator inner, Action counted) : IRoutingTranslator
    {
        public TranslationResult Translate(RoutingInputs inputs)
        {
            counted();
            return inner.Translate(inputs);
        }
    }

    private sealed class CountingPublisher(XdsControlPlane.Sources.IRoutingPublisher inner, StatusPriorityTests test) : XdsControlPlane.Sources.IRoutingPublisher
    {
        public IReadOnlyList<ManifestProblem> Publish(RoutingInputs inputs)
        {
            var problems = inner.Publish(inputs);
            Volatile.Write(ref test._published, inputs);
            Interlocked.Increment(ref test._publications);
            return problems;
        }
    }

    /// <summary>The real translator, held inside the next translation after <see cref="Hold"/> until <see cref="Release"/>.</summary>
    private sealed class HoldingTranslator : IDisposable
    {
        private readonly ManualResetEventSlim _released = new(initialState: true);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _translations;
        private volatile bool _held;

        public Task Entered => _entered.Task;

        public bool Held => _held;

        public int Translations => Volatile.Read(ref _translations);

        public IRoutingTranslator Around(IRoutingTranslator inner) => new Translator(inner, this);

        public void Hold() => _released.Reset();

        public void Release() => _released.Set();

        public void Dispose()
        {
            _released.Set();
            _released.Dispose();
        }

        private sealed class Translator(IRoutingTranslator inner, HoldingTranslator holder) : IRoutingTranslator
        {
            public TranslationResult Translate(RoutingInputs inputs)
            {
                var result = inner.Translate(inputs);
                if (!holder._released.IsSet)
                {
                    holder._held = true;
                    holder._entered.TrySetResult();
                    holder._released.Wait(TimeSpan.FromSeconds(20));
                    holder._held = false;
                }

                Interlocked.Increment(ref holder._translations);
                return result;
            }
        }
    }

    /// <summary>A raw ADS stream of a sidecar subscribed to cart's endpoints, recording every address it is sent.</summary>
    private sealed class EdsStream(GrpcChannel channel, AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> call) : IDisposable
    {
        public List<string> Seen { get; } = [];

        public static async Task<EdsStream> OpenAsync(int xdsPort, CancellationToken cancellationToken)
        {
            var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{xdsPort}");
            var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: cancellationToken);
            var node = new Node { Id = "sidecar-1", Cluster = "shop", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("sidecar") } } };
            await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = TypeUrls.ClusterLoadAssignment, ResourceNames = { Cart } }, cancellationToken);
            return new EdsStream(channel, call);
        }

        /// <summary>Reads responses until one holds <paramref name="address"/>.</summary>
        public Task ReceiveAsync(string address, CancellationToken cancellationToken) => ReceiveAddressAsync(call, address, Seen, cancellationToken);

        public void Dispose()
        {
            call.Dispose();
            channel.Dispose();
        }
    }

    /// <summary>A log sink that, after <see cref="Hold"/>, holds the thread that logs the next snapshot publication until <see cref="Release"/>.</summary>
    private sealed class HoldingPublicationLog : Serilog.Core.ILogEventSink, IDisposable
    {
        private readonly ManualResetEventSlim _released = new(initialState: true);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _armed;
        private volatile bool _held;

        public Task Entered => _entered.Task;

        public bool Held => _held;

        public void Hold()
        {
            _released.Reset();
            Volatile.Write(ref _armed, 1);
        }

        public void Release() => _released.Set();

        public void Emit(Serilog.Events.LogEvent logEvent)
        {
            if (logEvent.MessageTemplate.Text.StartsWith("Published snapshot for node group", StringComparison.Ordinal) && Interlocked.Exchange(ref _armed, 0) == 1)
            {
                _held = true;
                _entered.TrySetResult();
                _released.Wait(TimeSpan.FromSeconds(20));
                _held = false;
            }
        }

        public void Dispose()
        {
            _released.Set();
            _released.Dispose();
        }
    }
}
