using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using XdsControlPlane.Envoy.Validation;

namespace XdsControlPlane.Server.Tests;

/// <summary>A route configuration checked one virtual host at a time finds what checking it whole finds, with the same field paths.</summary>
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
        var validation = new RouteConfigurationValidation(EnvoyRulesValidator.Default);

        var perHost = validation.Violations(config);
        var again = validation.Violations(config);
        var whole = EnvoyRulesValidator.Default.Validate(config).Violations;

        Assert.Multiple(() =>
        {
            Assert.That(perHost.Select(v => v.ToString()), Is.EquivalentTo(whole.Select(v => v.ToString())));
            Assert.That(perHost.Select(v => v.FieldPath), Has.Some.StartsWith("virtual_hosts[1].").And.Some.StartsWith("virtual_hosts[2].").And.Some.StartsWith("response_headers_to_add[0]"));
            Assert.That(again.Select(v => v.ToString()), Is.EqualTo(perHost.Select(v => v.ToString())), "remembered per host");
            Assert.That(config.VirtualHosts, Has.Count.EqualTo(3), "the configuration is not changed");
        });
    }

    [Test]
    public void Violations_ValidConfiguration_None()
    {
        var config = new RouteConfiguration { Name = "8080", VirtualHosts = { Host("cart", "cart.shop"), Host("orders", "orders.shop") } };

        Assert.That(new RouteConfigurationValidation(EnvoyRulesValidator.Default).Violations(config), Is.Empty);
    }

    private static VirtualHost Host(string name, params string[] domains) => new()
    {
        Name = name,
        Domains = { domains.Length == 0 ? [name] : domains },
        Routes = { new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = name } } },
    };
}
