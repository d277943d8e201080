using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// The blast radius in status: the server in Kubernetes mode against the fake API server, with a translation that
/// breaks one virtual host on purpose (<see cref="HeaderBreakingTranslation"/>: the added header value <c>break-me</c>
/// gets a line feed, which Envoy's rules refuse). The RouteGroup whose routes that host carries gets
/// <c>Programmed=False</c>, reason <c>VirtualHostHeldOut</c>, naming the host, its route configuration and the rule
/// broken — written once, not again on later passes — and <c>Programmed=True</c> again once the host passes; another
/// RouteGroup's status says nothing of it.
/// </summary>
[NonParallelizable]
public sealed class HeldOutHostStatusTests
{
    private const string Cart = "cart.shop.svc.cluster.local:8080";
    private const string PreviewDomain = "preview.example.com";
    private const string PreviewSalt = "test-salt";
    private readonly HostLog _log = new();

    [TearDown]
    public void NoUnexpectedWarnings()
    {
        try
        {
            _log.AssertNoUnexpectedWarnings();
        }
        finally
        {
            _log.Clear();
        }
    }

    [Test]
    public async Task HostHeldOut_OwnerGetsProgrammedFalseWithTheReason_WrittenOnce_ThenProgrammedWhenItPasses()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var api = await FakeApiServer.StartAsync();
        foreach (var name in new[] { "cart", "cart-v2", "checkout", "checkout-v2" })
        {
            api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", name));
        }

        api.Put(FakeApiServer.RouteGroups, Group("canary", "cart", HeaderBreakingTranslation.Marker));
        api.Put(FakeApiServer.RouteGroups, Group("steady", "checkout", "sandbox"));
        _log.Expect($"Virtual host \"{Cart}\"");
        await using var host = await new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url)
            .WithServices(services => services.AddSingleton<IRoutingTranslator>(new HeaderBreakingTranslation(new RoutingTranslator())))
            .StartAsync(cancel.Token);

        var heldOut = await ProgrammedAsync(api, "canary", c => c?["reason"]?.GetValue<string>() == "VirtualHostHeldOut");
        var steady = await ProgrammedAsync(api, "steady", c => c?["status"]?.GetValue<string>() == "True");
        var writes = CanaryWrites(api);

        // Later passes (edits of another RouteGroup) judge the same held-out state: nothing more is written for it.
        for (var weight = 1; weight <= 3; weight++)
        {
            api.Put(FakeApiServer.RouteGroups, Group("steady", "checkout", $"sandbox-{weight}"));
            var generation = weight + 1;
            await ProgrammedAsync(api, "steady", c => c?["observedGeneration"]?.GetValue<long>() == generation && c?["status"]?.GetValue<string>() == "True");
        }

        var writesAfterPasses = CanaryWrites(api);
        api.Put(FakeApiServer.RouteGroups, Group("canary", "cart", "fixed"));
        var restored = await ProgrammedAsync(api, "canary", c => c?["status"]?.GetValue<string>() == "True");

        Assert.Multiple(() =>
        {
            Assert.That(heldOut!["status"]!.GetValue<string>(), Is.EqualTo("False"));
            Assert.That(heldOut["message"]!.GetValue<string>(), Does.StartWith($"virtual host {Cart} of route configuration ")
                .And.Contain("is left out (it never had a good version)").And.Contain("request_headers_to_add"), heldOut.ToJsonString());
            Assert.That(steady!["reason"]!.GetValue<string>(), Is.EqualTo("Programmed"), "another RouteGroup's host is served");
            Assert.That(writes, Is.GreaterThan(0));
            Assert.That(writesAfterPasses, Is.EqualTo(writes), "the held-out condition is written once, not on every pass");
            Assert.That(restored!["reason"]!.GetValue<string>(), Is.EqualTo("Programmed"), "the host passes again once the RouteGroup is fixed");
        });
    }

    [Test]
    public async Task PreviewHostHeldOut_ItsSandboxGetsProgrammedFalseWithTheReason_WrittenOnce_ThenProgrammedWhenItPasses()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var api = await FakeApiServer.StartAsync();
        foreach (var name in new[] { "cart", "checkout", "checkout-v2" })
        {
            api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", name));
        }

        // The preview host's route sets the Sandbox's routing key as x-routing-key: with the key the translation breaks,
        // that host alone breaks Envoy's rules. The Sandbox has no forks, so no other host carries its key.
        api.Put(FakeApiServer.Sandboxes, PreviewSandbox(HeaderBreakingTranslation.Marker));
        api.Put(FakeApiServer.RouteGroups, Group("steady", "checkout", "sandbox"));
        var previewHost = PreviewHostNames.Host(Sandbox.KindName, "shop", "demo", "cart", 8080, PreviewSalt, PreviewDomain);
        _log.Expect($"Virtual host \"{previewHost}\"");
        await using var host = await new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url)
            .With("Translation:PreviewDomain", PreviewDomain)
            .With("Translation:PreviewSalt", PreviewSalt)
            .WithServices(services => services.AddSingleton<IRoutingTranslator>(new HeaderBreakingTranslation(new RoutingTranslator(new TranslationOptions { PreviewDomain = PreviewDomain, PreviewSalt = PreviewSalt }))))
            .StartAsync(cancel.Token);

        var heldOut = await ProgrammedAsync(api, FakeApiServer.Sandboxes, "demo", c => c?["reason"]?.GetValue<string>() == "VirtualHostHeldOut");
        var writes = RoutingWrites(api, "shop/demo");

        // Later passes (edits of a RouteGroup) judge the same held-out state: nothing more is written for it.
        for (var weight = 1; weight <= 3; weight++)
        {
            api.Put(FakeApiServer.RouteGroups, Group("steady", "checkout", $"sandbox-{weight}"));
            var generation = weight + 1;
            await ProgrammedAsync(api, FakeApiServer.RouteGroups, "steady", c => c?["observedGeneration"]?.GetValue<long>() == generation && c?["status"]?.GetValue<string>() == "True");
        }

        var writesAfterPasses = RoutingWrites(api, "shop/demo");
        api.Put(FakeApiServer.Sandboxes, PreviewSandbox("fixed"));
        var restored = await ProgrammedAsync(api, FakeApiServer.Sandboxes, "demo", c => c?["status"]?.GetValue<string>() == "True");

        Assert.Multiple(() =>
        {
            Assert.That(heldOut!["status"]!.GetValue<string>(), Is.EqualTo("False"));
            Assert.That(heldOut["message"]!.GetValue<string>(), Does.StartWith($"virtual host {previewHost} of route configuration ")
                .And.Contain("is left out (it never had a good version)").And.Contain("request_headers_to_add"), heldOut.ToJsonString());
            Assert.That(writes, Is.GreaterThan(0));
            Assert.That(writesAfterPasses, Is.EqualTo(writes), "the held-out condition is written once, not on every pass");
            Assert.That(restored!["reason"]!.GetValue<string>(), Is.EqualTo("Programmed"), "the preview host passes again once the Sandbox's key is fixed");
        });
    }

    /// <summary>Status writes of the canary so far.</summary>
    private static int CanaryWrites(FakeApiServer api) => api.StatusPatches.Count(p => p.Name == "shop/canary");

    /// <summary>
    /// Accepted status writes of <paramref name="name"/> by the routing status writer. The Sandbox controller writes its
    /// own status too (with a <c>phase</c>), carrying every condition back since a merge patch replaces the list, and
    /// either writer's patch may lose a race with the other's (409, retried); neither is the routing writer writing the
    /// same held-out condition again.
    /// </summary>
    private static int RoutingWrites(FakeApiServer api, string name)
    {
        var patches = api.StatusPatches;
        return Enumerable.Range(0, patches.Count)
            .Count(i => patches[i] is var p && p.Name == name && p.Body["status"]?["phase"] is null
                && p.Body["status"]?["conditions"]?.AsArray().Any(c => c?["type"]?.GetValue<string>() == "Programmed") == true
                && !api.StatusPatchConflicted(i));
    }

    private static Task<JsonNode?> ProgrammedAsync(FakeApiServer api, string name, Func<JsonNode?, bool> until) => ProgrammedAsync(api, FakeApiServer.RouteGroups, name, until);

    private static async Task<JsonNode?> ProgrammedAsync(FakeApiServer api, string resource, string name, Func<JsonNode?, bool> until)
    {
        JsonNode? programmed = null;
        await Eventually.WaitAsync(
            () =>
            {
                programmed = api.Get(resource, "shop", name)?["status"]?["conditions"]?.AsArray().FirstOrDefault(c => c?["type"]?.GetValue<string>() == "Programmed");
                return until(programmed);
            },
            () => $"{resource} shop/{name}'s Programmed condition; last seen: {programmed?.ToJsonString() ?? "none"}");
        return programmed;
    }

    /// <summary>A Sandbox without forks and one public preview of cart:8080, routing by <paramref name="routingKey"/>.</summary>
    private static JsonObject PreviewSandbox(string routingKey) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "Sandbox",
        ["metadata"] = new JsonObject { ["name"] = "demo", ["namespace"] = "shop" },
        ["spec"] = new JsonObject
        {
            ["routingKey"] = routingKey,
            ["previews"] = new JsonArray(new JsonObject { ["service"] = "cart", ["port"] = 8080, ["access"] = "public" }),
        },
    };

    private static JsonObject Group(string name, string service, string environment) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "RouteGroup",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject
        {
            ["routingKey"] = name,
            ["routes"] = new JsonArray(new JsonObject
            {
                ["service"] = service,
                ["to"] = new JsonArray(new JsonObject { ["service"] = service + "-v2" }),
                ["requestHeadersToAdd"] = new JsonObject { ["x-environment"] = environment },
            }),
        },
    };
}
