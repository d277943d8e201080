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
    public void Trim_AfterAThousandEditsOfOneHost_RemembersABoundedNumberOfHosts_AndStillFindsABrokenOne()
    {
        // A gateway-like configuration of 50 hosts; each edit (a RouteGroup's header value) makes one host's bytes anew,
        // as translation does, and the publisher trims after every publication.
        var hosts = Enumerable.Range(0, 50).Select(i => Host($"svc-{i}").ToByteString()).ToArray();
        var validation = new RouteConfigurationValidation(EnvoyRulesValidator.Default);
        var most = 0;
        for (var edit = 0; edit < 1000; edit++)
        {
            var edited = Host($"svc-{edit % 50}");
            edited.RequestHeadersToAdd.Add(new HeaderValueOption { Header = new HeaderValue { Key = "x-edit", Value = $"v{edit}" } });
            hosts[edit % 50] = edited.ToByteString();
            var parts = new RouteConfigurationParts(new RouteConfiguration { Name = "gateway" }, [.. hosts]);
            Assert.That(validation.BrokenHosts(parts), Is.Empty);
            validation.Trim(() => [parts]);
            most = Math.Max(most, validation.Remembered);
        }

        hosts[7] = new VirtualHost { Name = "broken", Domains = { "broken" }, Routes = { new Route { Match = new RouteMatch { Prefix = "/" } } } }.ToByteString();
        var last = new RouteConfigurationParts(new RouteConfiguration { Name = "gateway" }, [.. hosts]);

        Assert.Multiple(() =>
        {
            Assert.That(most, Is.LessThanOrEqualTo(50 + 256 + 1), "the hosts translated now, and at most the trim's slack of old ones");
            Assert.That(validation.BrokenHosts(last).Keys, Is.EqualTo(new[] { 7 }), "results stay right across trims");
        });
    }

    private static VirtualHost Host(string name, params string[] domains) => new()
    {
        Name = name,
        Domains = { domains.Length == 0 ? [name] : domains },
        Routes = { new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = name } } },
    };
}
