using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Model;
using XdsControlPlane.Translation.HttpFilters;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using HttpFilter = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// The seams previews plug into: an HTTP filter registered before the router lands in the roles' connection managers
/// in order with its per-host and per-route config, and a planned virtual host that is not a Service port's reaches
/// the gateway's route configuration. Neither changes the default output.
/// </summary>
public sealed class TranslationSeamTests
{
    /// <summary>cart and cart-v2 in shop, and RouteGroup feature-x sending cart's keyed requests to cart-v2.</summary>
    private const string Inputs = GatewayKeyForwardingTests.Inputs;

    private const string PreviewHost = "cart-8080-abc123.preview.example.com";

    private static readonly HttpFilterRegistry WithMarker = new([new MarkerFilter(), new RouterFilter()]);

    [TestCase(DataPlaneRoles.Gateway)]
    [TestCase(DataPlaneRoles.Sidecar)]
    public void Translate_ExtraFilter_ComesBeforeTheRouterInTheConnectionManager(string role)
    {
        var result = Translate(WithMarker, NoVirtualHosts.Instance);

        foreach (var hcm in ConnectionManagers(result.Groups[role]))
        {
            Assert.That(hcm.HttpFilters.Select(f => f.Name), Is.EqualTo(new[] { MarkerFilter.FilterName, "envoy.filters.http.router" }));
        }
    }

    [Test]
    public void Translate_ExtraFilterNotRunByGrpc_GrpcChainIsTheRouterOnly()
    {
        var result = Translate(WithMarker, NoVirtualHosts.Instance);

        var hcms = ConnectionManagers(result.Groups[DataPlaneRoles.Grpc]).ToArray();
        Assert.That(hcms, Is.Not.Empty);
        Assert.That(hcms.SelectMany(h => h.HttpFilters).Select(f => f.Name).Distinct(), Is.EqualTo(new[] { "envoy.filters.http.router" }));
        Assert.That(RouteConfigurations(result.Groups[DataPlaneRoles.Grpc]).SelectMany(r => r.VirtualHosts).SelectMany(h => h.Routes).Where(r => r.TypedPerFilterConfig.Count > 0), Is.Empty);
    }

    [Test]
    public void Translate_ExtraFilter_PerHostAndPerRouteConfigOnEveryGatewayHostAndRoute()
    {
        var result = Translate(WithMarker, new FixedHosts(Preview()));

        var hosts = RouteConfigurations(result.Groups[DataPlaneRoles.Gateway]).Single().VirtualHosts;
        Assert.That(hosts.Select(h => h.Name), Does.Contain(PreviewHost));
        Assert.Multiple(() =>
        {
            foreach (var host in hosts)
            {
                Assert.That(Marker(host.TypedPerFilterConfig), Is.EqualTo($"host {host.Name}"));
                foreach (var route in host.Routes)
                {
                    Assert.That(Marker(route.TypedPerFilterConfig), Is.EqualTo($"route {route.Name}"), route.Name);
                }
            }
        });
    }

    [Test]
    public void Translate_PlannedHost_ReachesTheGatewayRouteConfigurationAfterTheServicePorts()
    {
        var result = Translate(HttpFilterRegistry.Product, new FixedHosts(Preview()));

        var hosts = RouteConfigurations(result.Groups[DataPlaneRoles.Gateway]).Single().VirtualHosts;
        var preview = hosts[^1];
        Assert.Multiple(() =>
        {
            Assert.That(preview.Name, Is.EqualTo(PreviewHost));
            Assert.That(preview.Domains, Is.EqualTo(new[] { PreviewHost, $"{PreviewHost}:8080" }));
            var route = preview.Routes.Single();
            Assert.That(route.Match.Prefix, Is.EqualTo("/"));
            Assert.That(route.Route_.Cluster, Is.EqualTo("outbound|8080||cart-v2.shop.svc.cluster.local"));
            Assert.That(route.RequestHeadersToAdd.Select(h => (h.Header.Key, h.Header.Value)), Is.EqualTo(new[] { ("x-routing-key", "feature-x") }));
            Assert.That(hosts.Take(hosts.Count - 1).Select(h => h.Name), Is.EqualTo(new[] { "cart.shop.svc.cluster.local:8080", "cart-v2.shop.svc.cluster.local:8080" }));
            foreach (var resource in result.Groups[DataPlaneRoles.Gateway])
            {
                Assert.That(EnvoyRulesValidator.Default.Validate(resource.Message).Violations, Is.Empty, resource.ToString());
            }

            Assert.That(SnapshotConsistency.Check(Snapshot.Create(result.Groups[DataPlaneRoles.Gateway])), Is.Empty);
        });
        Assert.That(RouteConfigurations(result.Groups[DataPlaneRoles.Sidecar]).SelectMany(r => r.VirtualHosts).Select(h => h.Name), Does.Not.Contain(PreviewHost), "preview hosts are the gateway's");
    }

    [Test]
    public void Translate_PlannedHostsChange_GatewayRoutesFollowThem()
    {
        var planner = new FixedHosts(Preview());
        var translator = new RoutingTranslator(null, HttpFilterRegistry.Product, planner);
        var first = GatewayRoutes(translator.Translate(RepoManifests.ParseValid(Inputs)));

        planner.Hosts = [Preview()];
        var same = GatewayRoutes(translator.Translate(RepoManifests.ParseValid(Inputs)));
        planner.Hosts = [];
        var gone = GatewayRoutes(translator.Translate(RepoManifests.ParseValid(Inputs)));

        Assert.Multiple(() =>
        {
            Assert.That(same.Version, Is.EqualTo(first.Version), "an equal host, the same routes");
            Assert.That(((RouteConfiguration)gone.Message).VirtualHosts.Select(h => h.Name), Does.Not.Contain(PreviewHost));
            Assert.That(gone.Version, Is.EqualTo(GatewayRoutes(new RoutingTranslator().Translate(RepoManifests.ParseValid(Inputs))).Version));
        });
    }

    [Test]
    public void Translate_ProductSeams_SameResourcesAsTheDefaultTranslator()
    {
        var seams = Translate(HttpFilterRegistry.Product, NoVirtualHosts.Instance);
        var plain = new RoutingTranslator().Translate(RepoManifests.ParseValid(Inputs));

        foreach (var role in DataPlaneRoles.All)
        {
            Assert.That(seams.Groups[role].Select(r => r.Packed.Value), Is.EqualTo(plain.Groups[role].Select(r => r.Packed.Value)), role);
        }
    }

    [Test]
    public void Registry_RouterNotLast_Throws()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new HttpFilterRegistry([new RouterFilter(), new MarkerFilter()]), Throws.ArgumentException);
            Assert.That(() => new HttpFilterRegistry([new MarkerFilter()]), Throws.ArgumentException);
            Assert.That(() => new HttpFilterRegistry([new MarkerFilter(), new MarkerFilter(), new RouterFilter()]), Throws.ArgumentException);
        });
    }

    private static PlannedVirtualHost Preview() => new(
        PreviewHost,
        [PreviewHost, $"{PreviewHost}:8080"],
        [new PlannedHostRoute("preview", "/", "outbound|8080||cart-v2.shop.svc.cluster.local", new Dictionary<string, string> { ["x-routing-key"] = "feature-x" })]);

    private static TranslationResult Translate(HttpFilterRegistry filters, IVirtualHostPlanner hosts) =>
        new RoutingTranslator(null, filters, hosts).Translate(RepoManifests.ParseValid(Inputs));

    private static XdsResource GatewayRoutes(TranslationResult result) =>
        result.Groups[DataPlaneRoles.Gateway].Single(r => r.Message is RouteConfiguration);

    private static IEnumerable<RouteConfiguration> RouteConfigurations(IReadOnlyList<XdsResource> resources) =>
        resources.Select(r => r.Message).OfType<RouteConfiguration>();

    private static IEnumerable<Hcm> ConnectionManagers(IReadOnlyList<XdsResource> resources)
    {
        foreach (var listener in resources.Select(r => r.Message).OfType<Listener>())
        {
            if (listener.ApiListener is { } api)
            {
                yield return api.ApiListener_.Unpack<Hcm>();
            }

            foreach (var filter in listener.FilterChains.SelectMany(c => c.Filters).Where(f => f.Name == "envoy.filters.network.http_connection_manager"))
            {
                yield return filter.TypedConfig.Unpack<Hcm>();
            }
        }
    }

    private static string? Marker(Google.Protobuf.Collections.MapField<string, Any> config) =>
        config.TryGetValue(MarkerFilter.FilterName, out var any) ? any.Unpack<StringValue>().Value : null;

    /// <summary>A test-only filter (gateway and sidecar) that names each host and route it configures.</summary>
    private sealed class MarkerFilter : HttpFilterTranslator
    {
        public const string FilterName = "test.marker";

        public override string Name => FilterName;

        public override bool RunsIn(string role) => role != DataPlaneRoles.Grpc;

        public override HttpFilter Entry(string role) => new() { Name = Name, TypedConfig = Any.Pack(new StringValue { Value = role }) };

        public override IMessage? VirtualHostConfig(HttpFilterScope scope) => new StringValue { Value = $"host {scope.Host.Name}" };

        public override IMessage? RouteConfig(HttpFilterScope scope, Route route) => new StringValue { Value = $"route {route.Name}" };
    }

    /// <summary>Hand-built virtual hosts, as the preview planner will make them.</summary>
    private sealed class FixedHosts(params PlannedVirtualHost[] hosts) : IVirtualHostPlanner
    {
        public IReadOnlyList<PlannedVirtualHost> Hosts { get; set; } = hosts;

        public IReadOnlyList<PlannedVirtualHost> Plan(RoutingInputs inputs) => Hosts;
    }
}
