using System.Text.RegularExpressions;
using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using XdsControlPlane.Envoy.Validation;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// At the gateway a browser carries the routing key in a cookie or a query parameter. The route those match sends the
/// request to the key's destination and adds the key as the routing-key header, which the applications propagate, so
/// the fork's own calls to other Services keep the key (docs/routing.md, "Where the key travels").
/// </summary>
public sealed class GatewayKeyForwardingTests
{
    internal const string Inputs = """
        apiVersion: v1
        kind: Service
        metadata: {name: cart, namespace: shop}
        spec: {ports: [{name: http, port: 8080}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cart-v2, namespace: shop}
        spec: {ports: [{name: http, port: 8080}]}
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: feature-x, namespace: shop}
        spec:
          routes:
          - service: cart
            to: [{service: cart-v2}]
            requestHeadersToAdd: {x-environment: sandbox}
        """;

    private const string KeyedCluster = "outbound|8080||cart-v2.shop.svc.cluster.local";

    [Test]
    public void Translate_CookieRoute_MatchesTheCookieAndForwardsTheKeyAsHeader()
    {
        var route = GatewayRoute(Translate(Inputs), "cookie");

        Assert.Multiple(() =>
        {
            var matcher = route.Match.Headers.Single();
            Assert.That(matcher.Name, Is.EqualTo("cookie"));
            Assert.That(matcher.StringMatch.SafeRegex.Regex, Is.Not.Empty);
            Assert.That(route.Match.QueryParameters, Is.Empty);
            Assert.That(route.Route_.Cluster, Is.EqualTo(KeyedCluster));
            Assert.That(Forwarded(route), Is.EqualTo(("feature-x", HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd)));
            Assert.That(Value(route, "x-environment"), Is.EqualTo("sandbox"), "the rule's own headers stay");
        });
    }

    [TestCase("routing-key=feature-x", true)]
    [TestCase("theme=dark; routing-key=feature-x", true)]
    [TestCase("routing-key=feature-x; theme=dark", true)]
    [TestCase("routing-key=feature-x2", false)]
    [TestCase("my-routing-key=feature-x", false)]
    [TestCase("theme=routing-key=feature-x", false)]
    public void Translate_CookieRoute_RegexMatchesOnlyTheKeyCookie(string cookie, bool matches)
    {
        // The pattern uses only what RE2 and .NET share (no lookaround, no backreferences), so .NET can evaluate it.
        var pattern = GatewayRoute(Translate(Inputs), "cookie").Match.Headers.Single().StringMatch.SafeRegex.Regex;

        Assert.That(Regex.IsMatch(cookie, pattern, RegexOptions.None, TimeSpan.FromSeconds(1)), Is.EqualTo(matches), pattern);
    }

    [Test]
    public void Translate_QueryRoute_MatchesTheParameterAndForwardsTheKeyAsHeader()
    {
        var route = GatewayRoute(Translate(Inputs), "query");

        Assert.Multiple(() =>
        {
            var parameter = route.Match.QueryParameters.Single();
            Assert.That(parameter.Name, Is.EqualTo("routing-key"));
            Assert.That(parameter.StringMatch.Exact, Is.EqualTo("feature-x"));
            Assert.That(route.Match.Headers, Is.Empty);
            Assert.That(route.Route_.Cluster, Is.EqualTo(KeyedCluster));
            Assert.That(Forwarded(route), Is.EqualTo(("feature-x", HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd)));
        });
    }

    [TestCase("header")]
    [TestCase("baggage")]
    public void Translate_HeaderOrBaggageRoute_AddsNoKeyHeader(string carrier)
    {
        // The header is already there; a baggage member travels with the baggage the applications propagate.
        var route = GatewayRoute(Translate(Inputs), carrier);

        Assert.That(Value(route, "x-routing-key"), Is.Null);
    }

    [Test]
    public void Translate_SidecarAndGrpc_HaveNoCookieOrQueryRoutes()
    {
        var result = Translate(Inputs);

        foreach (var group in new[] { DataPlaneRoles.Sidecar, DataPlaneRoles.Grpc })
        {
            var names = result.Groups[group].Select(r => r.Message).OfType<RouteConfiguration>().SelectMany(c => c.VirtualHosts).SelectMany(h => h.Routes).Select(r => r.Name).ToArray();
            Assert.That(names, Has.Some.EndsWith("|header").And.None.EndsWith("|cookie").And.None.EndsWith("|query"), group);
        }
    }

    [Test]
    public void Translate_CustomCarrierNames_ForwardsInTheConfiguredHeader()
    {
        var options = new TranslationOptions { RoutingKeyHeader = "x-sandbox", CookieName = "sandbox", QueryParameter = "sandbox" };
        var result = Translate(Inputs, options);

        Assert.Multiple(() =>
        {
            Assert.That(GatewayRoute(result, "query").Match.QueryParameters.Single().Name, Is.EqualTo("sandbox"));
            Assert.That(Value(GatewayRoute(result, "query"), "x-sandbox"), Is.EqualTo("feature-x"));
            Assert.That(Value(GatewayRoute(result, "cookie"), "x-sandbox"), Is.EqualTo("feature-x"));
            Assert.That(Value(GatewayRoute(result, "cookie"), "x-routing-key"), Is.Null);
        });
    }

    [Test]
    public void Translate_RuleSetsTheKeyHeaderItself_RuleValueKept()
    {
        var inputs = Inputs.Replace("{x-environment: sandbox}", "{x-environment: sandbox, X-Routing-Key: downstream-key}", StringComparison.Ordinal);

        var route = GatewayRoute(Translate(inputs), "cookie");

        Assert.Multiple(() =>
        {
            Assert.That(route.RequestHeadersToAdd.Count(h => h.Header.Key == "x-routing-key"), Is.EqualTo(1), "one value, not two");
            Assert.That(Value(route, "x-routing-key"), Is.EqualTo("downstream-key"));
        });
    }

    [Test]
    public void Translate_GatewayRoutes_PassEnvoyRules()
    {
        foreach (var resource in Translate(Inputs).Groups[DataPlaneRoles.Gateway])
        {
            Assert.That(EnvoyRulesValidator.Default.Validate(resource.Message).Violations, Is.Empty, resource.ToString());
        }
    }

    private static TranslationResult Translate(string yaml, TranslationOptions? options = null) =>
        new RoutingTranslator(options).Translate(RepoManifests.ParseValid(yaml));

    private static Route GatewayRoute(TranslationResult result, string carrier) =>
        result.Groups[DataPlaneRoles.Gateway].Select(r => r.Message).OfType<RouteConfiguration>().Single()
            .VirtualHosts.Single(h => h.Name == "cart.shop.svc.cluster.local:8080")
            .Routes.Single(r => r.Name == $"feature-x|RouteGroup/shop/feature-x#0|{carrier}");

    private static (string Value, HeaderValueOption.Types.HeaderAppendAction Action)? Forwarded(Route route) =>
        route.RequestHeadersToAdd.SingleOrDefault(h => h.Header.Key == "x-routing-key") is { } header ? (header.Header.Value, header.AppendAction) : null;

    private static string? Value(Route route, string name) =>
        route.RequestHeadersToAdd.SingleOrDefault(h => h.Header.Key == name)?.Header.Value;
}
