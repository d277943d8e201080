using Envoy.Config.Route.V3;

namespace XdsControlPlane.Xds.Tests;

/// <summary>
/// Scoped RDS in the table of types: a gateway's scopes are pushed after its listener and before the route
/// configurations they load (Envoy subscribes to a scope's routes when it learns of the scope), sent whole in State of
/// the World (Envoy drops the scopes a response leaves out), and a scope whose route configuration is missing makes the
/// snapshot inconsistent.
/// </summary>
public sealed class ScopedRouteTypeTests
{
    [Test]
    public void Table_Srds_BetweenListenersAndRoutesAndFullSet()
    {
        var srds = XdsResourceTypes.Find(TypeUrls.ScopedRouteConfiguration)!;
        Assert.Multiple(() =>
        {
            Assert.That(srds.ShortName, Is.EqualTo("SRDS"));
            Assert.That(TypeUrls.PushOrder, Is.EqualTo(new[] { TypeUrls.Secret, TypeUrls.Cluster, TypeUrls.ClusterLoadAssignment, TypeUrls.Listener, TypeUrls.ScopedRouteConfiguration, TypeUrls.RouteConfiguration }));
            Assert.That(srds.SotwFullSet, Is.True);
            Assert.That(srds.KeptWhileReferenced, Is.False);
        });
    }

    [Test]
    public void Consistency_ScopeWithoutItsRouteConfiguration_IsAProblem()
    {
        var scope = XdsResource.Create(Scope("cart.shop", "gateway-http/cart.shop.svc.cluster.local"));
        var routes = TestResources.Routes("gateway-http/cart.shop.svc.cluster.local");

        Assert.Multiple(() =>
        {
            Assert.That(scope.References.RouteConfigurations, Is.EqualTo(new[] { "gateway-http/cart.shop.svc.cluster.local" }));
            Assert.That(SnapshotConsistency.Check(Snapshot.Create([scope, routes])), Is.Empty);
            Assert.That(
                SnapshotConsistency.Check(Snapshot.Create([scope])),
                Is.EqualTo(new[] { "SRDS 'cart.shop' loads routes from RDS 'gateway-http/cart.shop.svc.cluster.local', which the snapshot does not contain." }));
        });
    }

    [Test]
    public void Consistency_ScopeAddedByWithWithoutItsRoutes_IsRejectedByTheCache()
    {
        var routes = TestResources.Routes("r1");
        var served = Snapshot.Create([XdsResource.Create(Scope("a", "r1")), routes]);
        var next = served.With([XdsResource.Create(Scope("b", "r2"))], []);

        var (problems, changesOnly) = SnapshotConsistency.Check(next, served);

        Assert.That(problems, Is.EqualTo(new[] { "SRDS 'b' loads routes from RDS 'r2', which the snapshot does not contain." }));
        Assert.That(changesOnly, Is.True, "only the upserted scope was checked");
    }

    private static ScopedRouteConfiguration Scope(string host, string routes) => new()
    {
        Name = host,
        RouteConfigurationName = routes,
        Key = new() { Fragments = { new ScopedRouteConfiguration.Types.Key.Types.Fragment { StringKey = host } } },
    };
}
