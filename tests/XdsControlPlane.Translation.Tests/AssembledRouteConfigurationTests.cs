using Envoy.Config.Route.V3;
using Google.Protobuf;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// Route configurations are assembled from their virtual hosts' cached bytes and keep no message: what a client gets
/// is exactly the serialization of the message built whole, for every role and with scoped routes at the gateway.
/// </summary>
public sealed class AssembledRouteConfigurationTests
{
    [TestCase(DataPlaneRoles.Gateway, false)]
    [TestCase(DataPlaneRoles.Gateway, true)]
    [TestCase(DataPlaneRoles.Sidecar, false)]
    [TestCase(DataPlaneRoles.Grpc, false)]
    public void Translate_RouteConfigurations_BytesEqualTheMessageBuiltWhole(string role, bool scopedRoutes)
    {
        var inputs = RepoManifests.Load(RepoDirectory.Path("examples", "shop")).Inputs;
        var routes = new RoutingTranslator(new TranslationOptions { ScopedRoutes = scopedRoutes }).Translate(inputs).Groups[role]
            .Where(r => r.TypeUrl == TypeUrls.RouteConfiguration).ToArray();

        Assert.That(routes, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (var resource in routes)
            {
                var parts = resource.Parts;
                Assert.That(parts, Is.Not.Null, $"{resource.Name} is assembled from its hosts' bytes");
                var whole = new RouteConfiguration(parts!.Shell);
                whole.VirtualHosts.AddRange(parts.VirtualHosts.Select(VirtualHost.Parser.ParseFrom));
                var fresh = XdsResource.Create(whole);

                Assert.That(resource.Packed.Value, Is.EqualTo(fresh.Packed.Value), $"{resource.Name}: the bytes of the message built whole");
                Assert.That(resource.Packed.TypeUrl, Is.EqualTo(fresh.Packed.TypeUrl));
                Assert.That(resource.Message, Is.EqualTo(whole), $"{resource.Name}: the message parses from the bytes");
                Assert.That(resource.References.Clusters, Is.EqualTo(fresh.References.Clusters), $"{resource.Name}: the clusters read from the message");
                var first = resource.Message;
                Assert.That(resource.Message, Is.Not.SameAs(first), "parsed when read, not kept");
                if (role == DataPlaneRoles.Grpc)
                {
                    Assert.That(resource.Version, Is.EqualTo(fresh.Version), $"{resource.Name}: a single host's configuration is versioned as before, by its bytes");
                }
            }
        });
    }

    [Test]
    public void CreateRouteConfiguration_NoHosts_OnlyTheName()
    {
        var resource = XdsResource.CreateRouteConfiguration("empty", [], version: null, ResourceReferences.None);

        Assert.Multiple(() =>
        {
            Assert.That(resource.Packed.Value, Is.EqualTo(new RouteConfiguration { Name = "empty" }.ToByteString()));
            Assert.That(resource.Version, Is.EqualTo(XdsResource.Create(new RouteConfiguration { Name = "empty" }).Version));
            Assert.That(resource.Parts!.VirtualHosts, Is.Empty);
        });
    }
}
