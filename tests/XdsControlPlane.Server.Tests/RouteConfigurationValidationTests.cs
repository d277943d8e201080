using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf;
using XdsControlPlane.Envoy.Validation;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// A route configuration assembled from its virtual hosts' bytes, checked one virtual host at a time, finds what checking
/// the message whole finds, with the same field paths.
/// </summary>
public sealed class RouteConfigurationValidationTests
{
    [Test]
    public void Violations_PerVirtualHost_SameAsTheWholeConfiguration()
    {
        var config = new RouteConfiguration
        {
            Name = "gateway",
            MaxDirectResponseBodySizeBytes = 1024,
            ResponseHeadersToAdd = { new HeaderValueOption { Header = new HeaderValue { Key = "", Value = "x" } } },
            VirtualHosts =
            {
                Host("cart", "cart.shop"),
                new VirtualHost { Name = "", Domains = { "broken" }, Routes = { new Route { Match = new RouteMatch { Prefix = "/" } } } },
                Host("checkout"),
            },
        };
        config.VirtualHosts[2].Domains.Clear();
        var shell = config.Clone();
        shell.VirtualHosts.Clear();
        var parts = new RouteConfigurationParts(shell, [.. config.VirtualHosts.Select(h => h.ToByteString())]);
        var validation = new RouteConfigurationValidation(EnvoyRulesValidator.Default);

        var perHost = validation.Violations(parts);
        var again = validation.Violations(parts);
        var whole = EnvoyRulesValidator.Default.Validate(config).Violations;

        Assert.Multiple(() =>
        {
            Assert.That(perHost.Select(v => v.ToString()), Is.EquivalentTo(whole.Select(v => v.ToString())));
            Assert.That(perHost.Select(v => v.FieldPath), Has.Some.StartsWith("virtual_hosts[1].").And.Some.StartsWith("virtual_hosts[2].").And.Some.StartsWith("response_headers_to_add[0]"));
            Assert.That(again.Select(v => v.ToString()), Is.EqualTo(perHost.Select(v => v.ToString())), "remembered per host");
        });
    }

    [Test]
    public void Violations_AssembledResourceWithABrokenHost_ReportedWithItsFieldPath()
    {
        var broken = new VirtualHost { Name = "broken", Domains = { "broken" }, Routes = { new Route { Match = new RouteMatch { Prefix = "/" } } } };
        var resource = XdsResource.CreateRouteConfiguration("8080", [Host("cart").ToByteString(), broken.ToByteString()], version: null, ResourceReferences.None);

        var violations = new RouteConfigurationValidation(EnvoyRulesValidator.Default).Violations(resource.Parts!);

        Assert.Multiple(() =>
        {
            Assert.That(violations, Is.Not.Empty);
            Assert.That(violations.Select(v => v.FieldPath), Is.All.StartsWith("virtual_hosts[1].routes[0]"));
            Assert.That(violations.Select(v => v.ToString()), Is.EquivalentTo(EnvoyRulesValidator.Default.Validate(resource.Message).Violations.Select(v => v.ToString())));
        });
    }

    [Test]
    public void Violations_ValidConfiguration_None()
    {
        var resource = XdsResource.CreateRouteConfiguration("8080", [Host("cart", "cart.shop").ToByteString(), Host("orders", "orders.shop").ToByteString()], version: null, ResourceReferences.None);

        Assert.That(new RouteConfigurationValidation(EnvoyRulesValidator.Default).Violations(resource.Parts!), Is.Empty);
    }

    [Test]
    public void Built_BrokenHostFromItsMessage_SameViolationsAndReasonAsParsingItsBytes()
    {
        var broken = new VirtualHost { Name = "broken", Domains = { "broken" }, Routes = { new Route { Name = "key|RouteGroup/shop/cart#0|header", Match = new RouteMatch { Prefix = "/" } } } };
        var bytes = broken.ToByteString();
        var parts = new RouteConfigurationParts(new RouteConfiguration { Name = "8080" }, [Host("cart").ToByteString(), bytes]);
        var fromMessage = new RouteConfigurationValidation(EnvoyRulesValidator.Default);
        fromMessage.Built(broken, bytes);

        var parsed = new RouteConfigurationValidation(EnvoyRulesValidator.Default);

        Assert.Multiple(() =>
        {
            Assert.That(fromMessage.Violations(parts).Select(v => v.ToString()), Is.EqualTo(parsed.Violations(parts).Select(v => v.ToString())).And.Not.Empty);
            Assert.That(fromMessage.BrokenHosts(parts), Is.EqualTo(parsed.BrokenHosts(parts)));
            Assert.That(fromMessage.BrokenHosts(parts)[1], Does.Contain("in route 'key|RouteGroup/shop/cart#0|header'"));
        });
    }

    [Test]
    public void Built_Host_IsCheckedFromTheMessageNotItsBytes()
    {
        // The message and the bytes disagree on purpose: a result from the message shows the bytes were not parsed back.
        var valid = Host("cart").ToByteString();
        var broken = new VirtualHost { Name = "broken", Domains = { "broken" }, Routes = { new Route { Match = new RouteMatch { Prefix = "/" } } } };
        var validation = new RouteConfigurationValidation(EnvoyRulesValidator.Default);

        validation.Built(broken, valid);

        Assert.That(validation.BrokenHosts(new RouteConfigurationParts(new RouteConfiguration { Name = "8080" }, [valid])).Keys, Is.EqualTo(new[] { 0 }));
    }

    private static VirtualHost Host(string name, params string[] domains) => new()
    {
        Name = name,
        Domains = { domains.Length == 0 ? [name] : domains },
        Routes = { new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = name } } },
    };
}
