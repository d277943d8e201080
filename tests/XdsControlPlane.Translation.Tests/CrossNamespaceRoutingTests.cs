using Envoy.Config.Route.V3;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// When a Service allows another namespace's RouteGroups, the Service's own namespace still wins a tie: for the same
/// routing key and conditions its route comes first, and the other namespace's is reported as never used.
/// </summary>
public sealed class CrossNamespaceRoutingTests
{
    private const string Inputs = """
        apiVersion: v1
        kind: Service
        metadata: {name: cart, namespace: shop, annotations: {sandboxctl.io/allow-routes-from: aaa}}
        spec: {ports: [{name: http, port: 8080}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cart-v2, namespace: shop}
        spec: {ports: [{name: http, port: 8080}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: other, namespace: aaa}
        spec: {ports: [{name: http, port: 8080}]}
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: feature-x, namespace: aaa}
        spec:
          routes:
          - service: cart.shop
            to: [{service: other}]
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: feature-x, namespace: shop}
        spec:
          routes:
          - service: cart
            to: [{service: cart-v2}]
        """;

    [TestCase("")]
    [TestCase("match: {pathPrefix: /}")]
    public void Translate_SameKeyFromTheOwnerAndAnAllowedNamespace_OwnerFirstOtherReported(string foreignMatch)
    {
        var inputs = Inputs.Replace("  - service: cart.shop\n", $"  - service: cart.shop\n    {foreignMatch}\n", StringComparison.Ordinal);
        var result = new RoutingTranslator().Translate(RepoManifests.ParseValid(inputs));

        var routes = result.Groups[DataPlaneRoles.Grpc].Select(r => r.Message).OfType<RouteConfiguration>().Single(r => r.Name == "cart.shop.svc.cluster.local:8080").VirtualHosts.Single().Routes;
        Assert.Multiple(() =>
        {
            Assert.That(routes[0].Route_.Cluster, Is.EqualTo("outbound|8080||cart-v2.shop.svc.cluster.local"), "the owner's route is tried first");
            Assert.That(routes.Select(r => r.Route_.Cluster), Does.Contain("outbound|8080||other.aaa.svc.cluster.local"));
            Assert.That(result.Problems.Select(p => p.ToString()), Has.Some.StartsWith("RouteGroup aaa/feature-x: spec.routes[0]: never used for cart.shop:8080: RouteGroup shop/feature-x"));
        });
    }
}
