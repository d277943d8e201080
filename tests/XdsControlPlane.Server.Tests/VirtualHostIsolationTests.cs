using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using XdsControlPlane.Envoy.Validation;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// One broken virtual host costs only itself: <see cref="VirtualHostIsolation"/> builds the route configuration to
/// publish, and <see cref="ResourceValidation.Admit"/> decides when to and reports each held-out host once.
/// </summary>
public sealed class VirtualHostIsolationTests
{
    private static readonly VirtualHostIsolation Isolation = new(new VirtualHostFacts());

    [Test]
    public void Isolate_BrokenHostServedBefore_KeepsTheServedHost_OthersAreTheTranslatedOnes()
    {
        var served = Routes(Host("cart", "cart-v1"), Host("orders", "orders"));
        var translated = Routes(Host("cart", "cart-v2"), Broken("orders"), Host("search", "search"));

        var isolated = Isolation.Isolate(translated, Broken(translated), _ => true, served);

        var hosts = ((RouteConfiguration)isolated.Resource.Message).VirtualHosts;
        Assert.Multiple(() =>
        {
            Assert.That(hosts.Select(h => h.Name), Is.EqualTo(new[] { "cart", "orders", "search" }), "order kept");
            Assert.That(hosts[0].Routes[0].Route_.Cluster, Is.EqualTo("cart-v2"), "the other hosts are updated");
            Assert.That(hosts[1], Is.EqualTo(((RouteConfiguration)served.Message).VirtualHosts[1]), "the broken host keeps its served version");
            Assert.That(isolated.Excluded, Is.EqualTo(new[] { new ExcludedHost("orders", isolated.Excluded[0].Reason, KeptServed: true) }));
            Assert.That(isolated.Excluded[0].Reason, Does.Contain("request_headers_to_add[0].header.value").And.Contain("route 'orders-route'"));
            Assert.That(EnvoyRulesValidator.Default.Validate(isolated.Resource.Message).Violations, Is.Empty);
            Assert.That(isolated.Resource.References.Clusters, Is.EqualTo(new[] { "cart-v2", "orders", "search" }));
            Assert.That(isolated.Resource.Version, Is.EqualTo(XdsResource.Create(isolated.Resource.Message).Version), "versioned by content");
        });
    }

    [Test]
    public void Isolate_BrokenHostNeverServed_LeftOut()
    {
        var translated = Routes(Host("cart", "cart"), Broken("orders"));

        var isolated = Isolation.Isolate(translated, Broken(translated), _ => true, served: null);

        Assert.Multiple(() =>
        {
            Assert.That(((RouteConfiguration)isolated.Resource.Message).VirtualHosts.Select(h => h.Name), Is.EqualTo(new[] { "cart" }));
            Assert.That(isolated.Excluded.Single().KeptServed, Is.False);
            Assert.That(isolated.Resource.References.Clusters, Does.Contain("cart"), "references may name more clusters than the hosts kept, never fewer");
        });
    }

    [Test]
    public void Isolate_HostSendsToAClusterTheSnapshotWillNotHold_KeepsItsServedVersionWhoseClustersAreThere()
    {
        var served = Routes(Host("cart", "cart"), Host("orders", "orders"));
        var translated = Routes(Host("cart", "cart"), Host("orders", "orders-fork"));

        var isolated = Isolation.Isolate(translated, new Dictionary<int, string>(), name => name != "orders-fork", served);

        Assert.Multiple(() =>
        {
            Assert.That(((RouteConfiguration)isolated.Resource.Message).VirtualHosts[1].Routes[0].Route_.Cluster, Is.EqualTo("orders"));
            Assert.That(isolated.Excluded.Single().Reason, Does.Contain("cluster 'orders-fork'"));
            Assert.That(isolated.Resource.References.Clusters, Is.EqualTo(new[] { "cart", "orders" }));
        });
    }

    [Test]
    public void Isolate_ServedVersionSendsToAClusterThatIsGone_LeftOut()
    {
        var served = Routes(Host("cart", "cart"), Host("orders", "orders-old"));
        var translated = Routes(Host("cart", "cart"), Broken("orders"));

        var isolated = Isolation.Isolate(translated, Broken(translated), name => name != "orders-old", served);

        Assert.Multiple(() =>
        {
            Assert.That(((RouteConfiguration)isolated.Resource.Message).VirtualHosts.Select(h => h.Name), Is.EqualTo(new[] { "cart" }));
            Assert.That(isolated.Excluded.Single().KeptServed, Is.False);
        });
    }

    [Test]
    public void Admit_SameBrokenHostOverManyPublications_ReportedOnce_ThenOnceWhenItPassesAgain()
    {
        var log = new ListLogger();
        var validation = new ResourceValidation(EnvoyRulesValidator.Default, log);
        var served = Routes(Host("cart", "cart-v1"), Host("orders", "orders"));
        var brokenOrders = BrokenHost("orders");

        for (var version = 2; version < 6; version++)
        {
            var translated = Routes(Host("cart", $"cart-v{version}"), brokenOrders);
            served = validation.Admit("gateway", translated, served, _ => true)!;
            Assert.That(((RouteConfiguration)served.Message).VirtualHosts[0].Routes[0].Route_.Cluster, Is.EqualTo($"cart-v{version}"));
        }

        var again = validation.Admit("gateway", Routes(Host("cart", "cart-v5"), brokenOrders), served, _ => true);
        var fixedRoutes = Routes(Host("cart", "cart-v6"), Host("orders", "orders-v2"));
        var afterFix = validation.Admit("gateway", fixedRoutes, served, _ => true);

        Assert.Multiple(() =>
        {
            Assert.That(again!.Version, Is.EqualTo(served.Version), "an unchanged translation against what it made is the served version: nothing to push");
            Assert.That(afterFix, Is.SameAs(fixedRoutes));
            Assert.That(log.Lines.Count(l => l.Id == 3200), Is.EqualTo(1), "held out: said once");
            Assert.That(log.Lines.Count(l => l.Id == 3201), Is.EqualTo(1), "restored: said once");
        });
    }

    [Test]
    public void ForgetHeldOutNotIn_ConfigurationGoneThenBack_ForgottenWhileGone_ReportedAgainWhenBack()
    {
        var log = new ListLogger();
        var validation = new ResourceValidation(EnvoyRulesValidator.Default, log);
        var served = Routes(Host("cart", "cart-v1"), Host("orders", "orders"));
        var translated = Routes(Host("cart", "cart-v2"), BrokenHost("orders"));
        served = validation.Admit("gateway", translated, served, _ => true)!;

        validation.ForgetHeldOutNotIn(new Dictionary<string, IReadOnlyList<XdsResource>> { ["gateway"] = [translated], ["sidecar"] = [] });
        var whileTranslated = validation.HeldOut.Count;
        validation.ForgetHeldOutNotIn(new Dictionary<string, IReadOnlyList<XdsResource>> { ["gateway"] = [], ["sidecar"] = [translated] });
        var whileGone = validation.HeldOut.Count;
        validation.Admit("gateway", Routes(Host("cart", "cart-v3"), BrokenHost("orders")), served, _ => true);

        Assert.Multiple(() =>
        {
            Assert.That(whileTranslated, Is.EqualTo(1), "still translated for its group: still held out");
            Assert.That(whileGone, Is.Zero, "gone from its group (the same name in another group does not keep it)");
            Assert.That(validation.HeldOut.Single().Host.Host, Is.EqualTo("orders"));
            Assert.That(log.Lines.Count(l => l.Id == 3200), Is.EqualTo(2), "held out, then again once the configuration came back");
            Assert.That(log.Lines.Count(l => l.Id == 3201), Is.Zero, "a configuration that went away was not restored");
        });
    }

    private static IReadOnlyDictionary<int, string> Broken(XdsResource translated) =>
        new RouteConfigurationValidation(EnvoyRulesValidator.Default).BrokenHosts(translated.Parts!);

    private static XdsResource Routes(params ByteString[] hosts) => XdsResource.CreateRouteConfiguration(
        "gateway-http",
        hosts,
        version: null,
        new ResourceReferences([], [.. hosts.SelectMany(h => VirtualHost.Parser.ParseFrom(h).Routes.Select(r => r.Route_.Cluster)).Distinct().Order(StringComparer.Ordinal)], [], []));

    private static ByteString Host(string name, string cluster) => new VirtualHost
    {
        Name = name,
        Domains = { name },
        Routes = { new Route { Name = $"{name}-route", Match = new RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = cluster } } },
    }.ToByteString();

    private static ByteString Broken(string name) => BrokenHost(name);

    /// <summary>A host whose route adds a header value with a line feed (Envoy's HTTP_HEADER_VALUE rule refuses it).</summary>
    private static ByteString BrokenHost(string name)
    {
        var host = VirtualHost.Parser.ParseFrom(Host(name, name));
        host.Routes[0].RequestHeadersToAdd.Add(new HeaderValueOption { Header = new HeaderValue { Key = "x-note", Value = "a\nb" } });
        return host.ToByteString();
    }

    private sealed class ListLogger : ILogger<ResourceValidation>
    {
        public List<(int Id, string Text)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((eventId.Id, formatter(state, exception)));
    }
}
