using Envoy.Config.Listener.V3;
using ScopedRouteConfiguration = Envoy.Config.Route.V3.ScopedRouteConfiguration;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using HeaderValueExtractor = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.ScopedRoutes.Types.ScopeKeyBuilder.Types.FragmentBuilder.Types.HeaderValueExtractor;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// The gateway with scoped routes (<see cref="TranslationOptions.ScopedRoutes"/>): a scope per host name loading one
/// route configuration per Service, so an edit rebuilds one Service's configuration; a warm translator gives exactly
/// what a fresh one gives; the other roles are untouched by the option.
/// </summary>
public sealed class ScopedRoutesTranslationTests
{
    private static readonly TranslationOptions Scoped = new() { ScopedRoutes = true };

    [TestCase("cart.shop:8080", "cart.shop")]
    [TestCase("cart", "cart")]
    [TestCase("cart.shop.svc.cluster.local:9090", "cart.shop.svc.cluster.local")]
    [TestCase("*.preview.example.com", null)]
    [TestCase("[fd00::1]:8080", null)]
    [TestCase(":8080", null)]
    [TestCase("", null)]
    public void ScopeKeyOf_Domain_HostWithoutPort(string domain, string? expected) =>
        Assert.That(GatewayScopes.ScopeKeyOf(domain), Is.EqualTo(expected));

    [Test]
    public void Translate_ScopedRoutes_ListenerPicksTheScopeByHostWithoutPort()
    {
        var gateway = new RoutingTranslator(Scoped).Translate(Shop()).Groups[DataPlaneRoles.Gateway];
        var listener = (Listener)gateway.Single(r => r.TypeUrl == TypeUrls.Listener).Message;
        var hcm = listener.FilterChains[0].Filters[0].TypedConfig.Unpack<Hcm>();

        Assert.Multiple(() =>
        {
            Assert.That(hcm.RouteSpecifierCase, Is.EqualTo(Hcm.RouteSpecifierOneofCase.ScopedRoutes));
            var extractor = hcm.ScopedRoutes.ScopeKeyBuilder.Fragments.Single().HeaderValueExtractor;
            Assert.That((extractor.Name, extractor.ElementSeparator, extractor.Index), Is.EqualTo((":authority", ":", 0u)));
            Assert.That(extractor.ExtractTypeCase, Is.EqualTo(HeaderValueExtractor.ExtractTypeOneofCase.Index), "index 0 is set, not left out");
            Assert.That(hcm.ScopedRoutes.ScopedRds.ScopedRdsConfigSource.Ads, Is.Not.Null);
            Assert.That(hcm.ScopedRoutes.RdsConfigSource.Ads, Is.Not.Null);
        });
    }

    [Test]
    public void Translate_ScopedRoutes_AScopePerHostNameLoadingItsServicesRoutes()
    {
        var gateway = new RoutingTranslator(Scoped).Translate(Shop()).Groups[DataPlaneRoles.Gateway];
        var scopes = gateway.Where(r => r.TypeUrl == TypeUrls.ScopedRouteConfiguration).Select(r => (ScopedRouteConfiguration)r.Message).ToArray();
        var cart = scopes.Single(s => s.Name == "cart.shop");

        Assert.Multiple(() =>
        {
            Assert.That(cart.Key.Fragments.Single().StringKey, Is.EqualTo("cart.shop"));
            Assert.That(cart.RouteConfigurationName, Is.EqualTo("gateway-http/cart.shop.svc.cluster.local"));
            Assert.That(scopes.Where(s => s.RouteConfigurationName == cart.RouteConfigurationName).Select(s => s.Name), Is.EquivalentTo(new[] { "cart", "cart.shop", "cart.shop.svc.cluster.local" }));
            Assert.That(scopes.Select(s => s.Key.Fragments.Single().StringKey), Is.Unique, "Envoy rejects an update with two scopes of one key");
            Assert.That(gateway.Where(r => r.TypeUrl == TypeUrls.RouteConfiguration).Select(r => r.Name), Does.Not.Contain("gateway-http"), "no one route configuration of every Service");

            // Every scope's route configuration is in the group, and every resource passes Envoy's rules.
            Assert.That(SnapshotConsistency.Check(Snapshot.Create(gateway)), Is.Empty);
            Assert.That(gateway.SelectMany(r => EnvoyRulesValidator.Default.Validate(r.Message).Violations), Is.Empty);
        });
    }

    [Test]
    public void Translate_ScopedRoutes_SidecarAndGrpcGroupsAsWithoutTheOption()
    {
        var scoped = new RoutingTranslator(Scoped).Translate(Shop());
        var plain = new RoutingTranslator().Translate(Shop());
        foreach (var role in new[] { DataPlaneRoles.Sidecar, DataPlaneRoles.Grpc })
        {
            Assert.That(Snapshot.Create(scoped.Groups[role]).Version, Is.EqualTo(Snapshot.Create(plain.Groups[role]).Version), role);
        }
    }

    [Test]
    public void Translate_ScopedRoutes_RouteGroupEditRebuildsOnlyThatServicesRoutes()
    {
        var inputs = Shop();
        var warm = new RoutingTranslator(Scoped);
        var before = warm.Translate(inputs).Groups[DataPlaneRoles.Gateway];
        var canary = inputs.RouteGroups.Single(g => g.Metadata.Name == "checkout-canary");
        var edited = inputs.WithRouteGroup(canary with { Spec = canary.Spec with { Routes = [canary.Spec.Routes[0] with { Match = new RouteMatch { PathPrefix = "/edited" } }, .. canary.Spec.Routes.Skip(1)] } });
        var after = warm.Translate(edited).Groups[DataPlaneRoles.Gateway];

        var changed = after.Where(r => !before.Contains(r)).Select(r => $"{TypeUrls.ShortName(r.TypeUrl)} {r.Name}");
        Assert.Multiple(() =>
        {
            Assert.That(changed, Is.EqualTo(new[] { "RDS gateway-http/checkout.shop.svc.cluster.local" }), "one new resource, every other one the same instance");
            Assert.That(after.Select(r => r.ToString()), Is.EqualTo(new RoutingTranslator(Scoped).Translate(edited).Groups[DataPlaneRoles.Gateway].Select(r => r.ToString())), "warm equals fresh");
        });
    }

    [Test]
    public void Translate_ScopedRoutes_RandomEditsAndServicesComingAndGoing_WarmTranslatorAlwaysMatchesAFreshOne()
    {
        var random = new Random(20261205);
        var objects = new List<IManifestObject>(AllObjects(Shop()));
        var warm = new RoutingTranslator(Scoped);
        warm.Translate(new RoutingInputs(objects));
        for (var step = 0; step < 60; step++)
        {
            var kind = random.Next(4);
            if (kind == 0)
            {
                var groups = objects.OfType<RouteGroup>().ToArray();
                var group = groups[random.Next(groups.Length)];
                var rule = group.Spec.Routes[0];
                objects[objects.FindIndex(o => ReferenceEquals(o, group))] = group with { Spec = group.Spec with { Routes = [rule with { Match = new RouteMatch { PathPrefix = $"/edit-{random.Next(3)}" } }, .. group.Spec.Routes.Skip(1)] } };
            }
            else if (kind == 1 && objects.OfType<KubeService>().FirstOrDefault(s => s.Metadata.Name == "extra") is { } extra)
            {
                objects.Remove(extra);
            }
            else if (kind == 1)
            {
                // A Service named like one in another namespace takes the short host name (and its scope) away.
                var ns = random.Next(2) == 0 ? "shop" : "elsewhere";
                objects.Add(new KubeService { Metadata = new ObjectMeta { Name = "extra", Namespace = ns }, Spec = new KubeServiceSpec { Ports = [new KubeServicePort { Name = "http", Port = 8080 + random.Next(2) }] } });
            }
            else if (kind == 2 && objects.OfType<KubeService>().FirstOrDefault(s => s.Metadata is { Name: "cart", Namespace: "elsewhere" }) is { } twin)
            {
                objects.Remove(twin);
            }
            else
            {
                objects.Add(new KubeService { Metadata = new ObjectMeta { Name = "cart", Namespace = "elsewhere" }, Spec = new KubeServiceSpec { Ports = [new KubeServicePort { Name = "http", Port = 8080 }] } });
            }

            var inputs = new RoutingInputs(objects);
            var incremental = warm.Translate(inputs).Groups[DataPlaneRoles.Gateway];
            var fresh = new RoutingTranslator(Scoped).Translate(inputs).Groups[DataPlaneRoles.Gateway];
            Assert.That(incremental.Select(r => r.ToString()), Is.EqualTo(fresh.Select(r => r.ToString())), $"step {step} (kind {kind})");
            Assert.That(SnapshotConsistency.Check(Snapshot.Create(incremental)), Is.Empty, $"step {step}");
        }
    }

    private static RoutingInputs Shop() => RepoManifests.Load(RepoDirectory.Path("examples", "shop")).Inputs;

    private static List<IManifestObject> AllObjects(RoutingInputs inputs) =>
        [.. inputs.Services, .. inputs.Services.SelectMany(s => inputs.SlicesOf(s.Metadata.Namespace, s.Metadata.Name)), .. inputs.RouteGroups, .. inputs.Sandboxes, .. inputs.LocalWorkloads];
}
