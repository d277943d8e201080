using System.Text.Json.Nodes;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary><c>port-forward deploy/NAME</c> selects pods with the Deployment's whole label selector, expressions included, as kubectl does.</summary>
public sealed partial class PortForwardTests
{
    [Test]
    public async Task DeploymentTarget_MatchLabelsAndInExpression_ForwardsToTheCanaryPod()
    {
        PutDeployment("cart", new JsonObject
        {
            ["matchLabels"] = new JsonObject { ["app"] = "cart" },
            ["matchExpressions"] = new JsonArray(Requirement("track", "In", "canary")),
        });
        AddPod("cart-a-stable", ready: true, labels: new JsonObject { ["app"] = "cart", ["track"] = "stable" });
        AddPod("cart-b-canary", ready: true, labels: new JsonObject { ["app"] = "cart", ["track"] = "canary" });

        await using var run = Start("port-forward", "deploy/cart", ":8080");
        var port = await run.LocalPortAsync(8080);

        Assert.That(await GreetingAsync(port), Is.EqualTo("cart-b-canary"));
    }

    [Test]
    public async Task DeploymentTarget_ExpressionsOnly_IsASelector_NotInAndDoesNotExistApplied()
    {
        PutDeployment("cart", new JsonObject
        {
            ["matchExpressions"] = new JsonArray(
                Requirement("app", "In", "cart", "cart-v2"),
                Requirement("track", "NotIn", "stable"),
                Requirement("debug", "DoesNotExist"),
                Requirement("team", "Exists")),
        });
        AddPod("cart-a-stable", ready: true, labels: new JsonObject { ["app"] = "cart", ["track"] = "stable", ["team"] = "shop" });
        AddPod("cart-b-debug", ready: true, labels: new JsonObject { ["app"] = "cart", ["debug"] = "true", ["team"] = "shop" });
        AddPod("cart-c-noteam", ready: true, labels: new JsonObject { ["app"] = "cart-v2" });
        AddPod("cart-d-canary", ready: true, labels: new JsonObject { ["app"] = "cart-v2", ["track"] = "canary", ["team"] = "shop" });

        await using var run = Start("port-forward", "deploy/cart", ":8080");
        var port = await run.LocalPortAsync(8080);

        Assert.That(await GreetingAsync(port), Is.EqualTo("cart-d-canary"));
    }

    [Test]
    public async Task DeploymentTarget_UnknownOperator_ExitsOneNamingTheExpression()
    {
        PutDeployment("cart", new JsonObject { ["matchExpressions"] = new JsonArray(Requirement("track", "Near", "canary")) });

        var (code, _, stderr) = await RunAsync("port-forward", "deploy/cart", ":8080");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain("deployment/cart in shop has an invalid selector: matchExpressions track: unknown operator 'Near'"));
        });
    }

    private void PutDeployment(string name, JsonObject selector) => _api.Put(FakeApiServer.Deployments, new JsonObject
    {
        ["apiVersion"] = "apps/v1",
        ["kind"] = "Deployment",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject { ["selector"] = selector },
    });

    private static JsonObject Requirement(string key, string op, params string[] values)
    {
        var requirement = new JsonObject { ["key"] = key, ["operator"] = op };
        if (values.Length > 0)
        {
            requirement["values"] = new JsonArray([.. values.Select(v => (JsonNode)v)]);
        }

        return requirement;
    }
}
