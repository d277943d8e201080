using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// A resource that breaks Envoy's rules costs only itself, end to end: the server on the shop example and a raw ADS
/// stream subscribing like an Envoy gateway. The model refuses every input known to break Envoy's rules, so the server
/// runs a translation with a flaw put in on purpose (<see cref="HeaderBreakingTranslation"/>: an added header value
/// <c>break-me</c> gets a line feed, which Envoy's HTTP_HEADER_VALUE rule refuses); a RouteGroup edited to set it breaks
/// the gateway's virtual host of that Service port: that host keeps the version served before, every other host of the same route configuration goes on receiving edits, and the host is
/// reported once, naming the field, the route and the object.
/// </summary>
[NonParallelizable]
public sealed class BlastRadiusTests
{
    private const int HeldOutEvent = 3200;
    private const int RestoredEvent = 3201;
    private const string Checkout = "checkout.shop.svc.cluster.local:9090";
    private const string Cart = "cart.shop.svc.cluster.local:8080";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private HostLog _log = new();
    private string _directory = "";

    [SetUp]
    public void CopyExample()
    {
        _log = new HostLog();
        _directory = Directory.CreateTempSubdirectory("xdscp-blast-").FullName;
        foreach (var file in Directory.GetFiles(RepoDirectory.Path("examples", "shop"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(_directory, Path.GetFileName(file)));
        }
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task BrokenVirtualHost_OtherHostsOfTheRouteConfigurationKeepUpdating_HostKeepsItsLastGoodVersion_ReportedOnce()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        _log.Expect($"Virtual host \"{Checkout}\"");
        await using var host = await Server().StartAsync(cancel.Token);
        await using var gateway = await GatewayStream.ConnectAsync(host.XdsPort, cancel.Token);
        var goodCheckout = gateway.Host(Checkout);

        // The canary's added header gets the value the translation breaks: the checkout host breaks Envoy's rules.
        await EditAsync("routing.yaml", "requestHeadersToAdd: {x-environment: sandbox}", $"requestHeadersToAdd: {{x-environment: {HeaderBreakingTranslation.Marker}}}");
        await Eventually.WaitAsync(() => HeldOut().Length > 0, "the broken host to be reported", cancel.Token);

        // Two edits of another RouteGroup reach the gateway while the broken host is present.
        foreach (var prefix in new[] { "/api/v3", "/api/v4" })
        {
            await EditAsync("routing.yaml", prefix == "/api/v3" ? "pathPrefix: /api/v2" : "pathPrefix: /api/v3", $"pathPrefix: {prefix}");
            await gateway.ReceiveUntilAsync(() => gateway.Host(Cart)?.Routes.Any(r => r.Match.Prefix == prefix) == true, $"the cart host with {prefix}", cancel.Token);
            Assert.That(gateway.Host(Checkout), Is.EqualTo(goodCheckout), "the broken host keeps the version served before");
        }

        var reports = HeldOut();
        Assert.Multiple(() =>
        {
            Assert.That(reports, Has.Length.EqualTo(1), () => "reported once, not per push: " + string.Join("\n", reports));
            Assert.That(reports[0], Does.Contain("request_headers_to_add").And.Contain("header.value").And.Contain("RouteGroup/shop/checkout-canary#0").And.Contain("keeps the version served before"));
            Assert.That(gateway.Nacks, Is.Zero, "the gateway never saw a resource it would refuse");
        });

        // Fixed: the host is published as translated again, and that is said once.
        await EditAsync("routing.yaml", $"x-environment: {HeaderBreakingTranslation.Marker}", "x-environment: canary");
        await gateway.ReceiveUntilAsync(
            () => gateway.Host(Checkout)?.Routes.Any(r => r.RequestHeadersToAdd.Any(h => h.Header.Value == "canary")) == true, "the fixed checkout host", cancel.Token);
        await Eventually.WaitAsync(() => _log.Events.Any(e => e.EventId == RestoredEvent), "the host to be reported restored", cancel.Token);

        await host.StopAsync(cancel.Token);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task BrokenVirtualHostNeverServed_LeftOut_RestOfTheGatewayPublished()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        _log.Expect($"Virtual host \"{Checkout}\"");
        await EditAsync("routing.yaml", "requestHeadersToAdd: {x-environment: sandbox}", $"requestHeadersToAdd: {{x-environment: {HeaderBreakingTranslation.Marker}}}");
        await using var host = await Server().StartAsync(cancel.Token);
        await using var gateway = await GatewayStream.ConnectAsync(host.XdsPort, cancel.Token);

        // The report may be logged after the client was served: wait for it rather than race the client.
        await Eventually.WaitAsync(() => HeldOut().Length > 0, "the left-out host to be reported", cancel.Token);
        Assert.Multiple(() =>
        {
            Assert.That(gateway.Host(Checkout), Is.Null, "a host that never had a good version is left out");
            Assert.That(gateway.Host(Cart), Is.Not.Null, "every other host is served");
            Assert.That(HeldOut().Single(), Does.Contain("is left out"));
        });
        await host.StopAsync(cancel.Token);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task HeaderValueWithALineFeed_RefusedByTheModel_NamingTheField_OtherRouteGroupsServed()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        _log.Expect("requestHeadersToAdd.x-environment");
        await EditAsync("routing.yaml", "requestHeadersToAdd: {x-environment: sandbox}", "requestHeadersToAdd: {x-environment: \"sand\\nbox\"}");
        await using var host = await new InProcessServer().WithManifests(_directory).WithLog(_log).StartAsync(cancel.Token);
        await using var gateway = await GatewayStream.ConnectAsync(host.XdsPort, cancel.Token);

        // The source reports a manifest's problems after it has published the rest (a client can be served first).
        await Eventually.WaitAsync(() => _log.Contains("requestHeadersToAdd.x-environment"), "the invalid manifest to be reported", cancel.Token);
        var problems = string.Join("\n", _log.Events.Where(e => e.Text.Contains("requestHeadersToAdd.x-environment", StringComparison.Ordinal)).Select(e => e.Text));

        Assert.Multiple(() =>
        {
            Assert.That(problems, Does.Contain("holds a line feed (LF) at character 5").And.Contain("checkout-canary"), "the model names the object, the field and the reason");
            Assert.That(_log.Events.Where(e => e.EventId == HeldOutEvent), Is.Empty, "nothing reaches the translation that Envoy would refuse");
            Assert.That(gateway.Host(Cart), Is.Not.Null, "the other RouteGroups are served");
            Assert.That(gateway.Nacks, Is.Zero);
        });
        await host.StopAsync(cancel.Token);
        _log.AssertNoUnexpectedWarnings();
    }

    /// <summary>The held-out reports for the gateway's route configuration (the sidecar and gRPC groups have their own).</summary>
    private string[] HeldOut() => [.. _log.Events.Where(e => e.EventId == HeldOutEvent && e.Text.Contains("\"gateway-http\"", StringComparison.Ordinal)).Select(e => e.Text)];

    /// <summary>The server on the copied example with the translation that breaks <see cref="HeaderBreakingTranslation.Marker"/>.</summary>
    private InProcessServer Server() => new InProcessServer().WithManifests(_directory).WithLog(_log)
        .WithServices(services => services.AddSingleton<IRoutingTranslator>(new HeaderBreakingTranslation(new RoutingTranslator())));

    private async Task EditAsync(string file, string old, string replacement)
    {
        var path = Path.Combine(_directory, file);
        var before = await File.ReadAllTextAsync(path);
        var after = before.Replace(old, replacement, StringComparison.Ordinal);
        Assert.That(after, Is.Not.EqualTo(before), $"the edit {old} → {replacement} applies");
        await File.WriteAllTextAsync(path + ".tmp", after);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>An ADS stream that subscribes and ACKs like an Envoy gateway (listeners, then their route configurations), NACKing what breaks Envoy's rules.</summary>
    private sealed class GatewayStream : IAsyncDisposable
    {
        private readonly GrpcChannel _channel;
        private readonly AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse> _call;
        private readonly Channel<DiscoveryResponse> _received = Channel.CreateUnbounded<DiscoveryResponse>();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _reading;
        private readonly Dictionary<string, RouteConfiguration> _routes = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _versions = [];
        private Node? _node = new() { Id = "gateway-1", Cluster = "edge", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("gateway") } } };
        private string[] _routeNames = [];

        private GatewayStream(int port)
        {
            _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxReceiveMessageSize = null });
            _call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(_channel).StreamAggregatedResources(cancellationToken: _stop.Token);
            _reading = ReadAsync();
        }

        /// <summary>Responses refused because a resource broke Envoy's rules.</summary>
        public int Nacks { get; private set; }

        public static async Task<GatewayStream> ConnectAsync(int port, CancellationToken cancellationToken)
        {
            var stream = new GatewayStream(port);
            await stream.SendAsync(new DiscoveryRequest { TypeUrl = TypeUrls.Listener });
            await stream.ReceiveUntilAsync(() => stream._routeNames.Length > 0 && stream._routeNames.All(stream._routes.ContainsKey), "the gateway's listeners and routes", cancellationToken);
            return stream;
        }

        /// <summary>The virtual host named <paramref name="name"/> in the gateway's route configurations, if any.</summary>
        public VirtualHost? Host(string name) => _routes.Values.SelectMany(r => r.VirtualHosts).FirstOrDefault(h => h.Name == name);

        /// <summary>Handles (ACKs or NACKs) responses until <paramref name="done"/> holds.</summary>
        public async Task ReceiveUntilAsync(Func<bool> done, string what, CancellationToken cancellationToken)
        {
            while (!done())
            {
                DiscoveryResponse response;
                try
                {
                    response = await _received.Reader.ReadAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"timed out waiting for {what}");
                    throw;
                }

                await ApplyAsync(response);
            }
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

        private async Task ApplyAsync(DiscoveryResponse response)
        {
            var violations = response.Resources.SelectMany(r => Envoy.Validation.EnvoyRulesValidator.Default.Validate(Unpack(r)).Violations).ToArray();
            var ack = new DiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce };
            if (violations.Length > 0)
            {
                Nacks++;
                ack.VersionInfo = _versions.GetValueOrDefault(response.TypeUrl, "");
                ack.ErrorDetail = new Google.Rpc.Status { Code = 3, Message = string.Join("; ", violations.Select(v => v.ToString())) };
            }
            else
            {
                _versions[response.TypeUrl] = ack.VersionInfo = response.VersionInfo;
                if (response.TypeUrl == TypeUrls.RouteConfiguration)
                {
                    foreach (var config in response.Resources.Select(r => r.Unpack<RouteConfiguration>()))
                    {
                        _routes[config.Name] = config;
                    }
                }
            }

            var subscribeRoutes = false;
            if (response.TypeUrl == TypeUrls.Listener && violations.Length == 0)
            {
                var names = response.Resources.SelectMany(r => XdsResource.Create(r.Unpack<Listener>()).References.RouteConfigurations).Distinct().Order(StringComparer.Ordinal).ToArray();
                subscribeRoutes = !names.SequenceEqual(_routeNames);
                _routeNames = names;
            }

            ack.ResourceNames.AddRange(response.TypeUrl == TypeUrls.RouteConfiguration ? _routeNames : []);
            await SendAsync(ack);
            if (subscribeRoutes)
            {
                await SendAsync(new DiscoveryRequest { TypeUrl = TypeUrls.RouteConfiguration, ResourceNames = { _routeNames } });
            }
        }

        private static Google.Protobuf.IMessage Unpack(Any resource) => resource.TypeUrl == TypeUrls.Listener ? resource.Unpack<Listener>() : resource.Unpack<RouteConfiguration>();

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
                await _received.Writer.WriteAsync(response);
            }
        }
    }
}
