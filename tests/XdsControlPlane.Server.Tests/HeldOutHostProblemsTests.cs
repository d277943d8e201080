using Envoy.Config.Route.V3;
using Google.Protobuf;
using XdsControlPlane.Model;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// What the owners of a held-out virtual host are told (<see cref="HeldOutHostProblems"/>): one problem per routing object
/// whose routes the host carries, naming the host, its route configuration, node group, outcome and reason; nothing for
/// other kinds of owner, nor for a route configuration translation no longer makes; the same text for the same state.
/// </summary>
public sealed class HeldOutHostProblemsTests
{
    private const string Cart = "cart.shop.svc.cluster.local:8080";
    private static readonly ResourceKey Canary = new(RouteGroup.KindName, "shop", "canary");
    private static readonly ResourceKey Fork = new(Sandbox.KindName, "shop", "feature-x");
    private static readonly ResourceKey Baseline = new("Service", "shop", "cart");

    [Test]
    public void With_HostHeldOut_OneProblemPerRoutingOwner_NamingHostRoutesGroupOutcomeAndReason()
    {
        var result = Result("gateway-http");
        var held = new ExcludedHost(Cart, "routes[0].request_headers_to_add[0].header.value: value must not contain NUL, CR or LF", KeptServed: true);

        var problems = HeldOutHostProblems.With(result, [("gateway", "gateway-http", held), ("sidecar", "gateway-http", held)]);

        const string Text = $"virtual host {Cart} of route configuration gateway-http (node group gateway) keeps the version served before: routes[0].request_headers_to_add[0].header.value: value must not contain NUL, CR or LF";
        Assert.Multiple(() =>
        {
            Assert.That(problems.Select(p => (p.Resource, p.FieldPath, p.Reason, p.Kind)), Is.EqualTo(new[]
            {
                (Canary, "", Text, ProblemKind.HeldOut),
                (Fork, "", Text, ProblemKind.HeldOut),
            }), "the Service is not a routing object; the sidecar group does not make gateway-http");
            Assert.That(HeldOutHostProblems.With(result, [("gateway", "gateway-http", held)]), Is.EqualTo(problems), "the same state gives equal problems, so status is written once");
        });
    }

    [Test]
    public void With_HostLeftOut_SaysItNeverHadAGoodVersion_AndCutsALongReason()
    {
        var held = new ExcludedHost(Cart, new string('x', 5000), KeptServed: false);

        var problem = HeldOutHostProblems.With(Result("gateway-http"), [("gateway", "gateway-http", held)])[0];

        Assert.That(problem.Reason, Does.Contain("is left out (it never had a good version): xxx").And.EndWith("x…").And.Length.LessThan(1200));
    }

    [Test]
    public void With_NothingHeldOut_OrItsConfigurationGone_TranslationProblemsOnly()
    {
        var result = Result("gateway-http") with { Problems = [new ManifestProblem(Canary, "spec.routes[0].to[0].service", "Service shop/gone does not exist") { Kind = ProblemKind.UnresolvedReference }] };
        var held = new ExcludedHost(Cart, "broken", KeptServed: true);

        Assert.Multiple(() =>
        {
            Assert.That(HeldOutHostProblems.With(result, []), Is.SameAs(result.Problems));
            Assert.That(HeldOutHostProblems.With(result, [("gateway", "gateway-https", held)]), Is.EqualTo(result.Problems));
        });
    }

    /// <summary>A translation whose gateway group makes route configuration <paramref name="routes"/>; the cart host carries routes of a RouteGroup, a Sandbox and the baseline Service.</summary>
    private static TranslationResult Result(string routes)
    {
        var host = new VirtualHost { Name = Cart, Domains = { "cart" } }.ToByteString();
        var configuration = XdsResource.CreateRouteConfiguration(routes, [host], version: null, new ResourceReferences([], [], [], []));
        return new TranslationResult(new Dictionary<string, IReadOnlyList<XdsResource>> { ["gateway"] = [configuration], ["sidecar"] = [] }, [])
        {
            OwnersOf = name => name == Cart ? [Canary, Fork, Baseline] : [],
        };
    }
}
