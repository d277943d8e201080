using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel;

namespace Sandboxctl.Tests;

/// <summary>
/// RBAC in Kubernetes mode, with the fake API server answering 403 as a real one does. The developer: a user who may
/// not create (or, for <c>--force</c>, patch) LocalWorkloads gets one error naming the verb, resource and namespace
/// and the <c>kubectl auth can-i</c> command, exit 1, and nothing is left behind; the chart's developer role is all
/// that connecting, <c>--force</c> and Ctrl+C need. The control plane: when its own ServiceAccount may not read a
/// namespace's LocalWorkloads or write their status, that namespace's agents are refused with the reason (not
/// retried), the server logs one warning naming the missing rule, and other namespaces' agents are served.
/// </summary>
public sealed class LocalConnectRbacTests : LocalConnectClusterTest
{
    private const string OtherHash = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    [Test]
    public async Task Connect_UserMayNotCreateLocalWorkloads_ExitsOneNamingVerbResourceAndNamespace_LeavesNothingBehind()
    {
        var laptop = Cluster.Disposables.Track(new LocalHttpEcho("laptop"));
        var host = await Cluster.StartHostAsync();
        Api.Deny(FakeApiServer.Developer, "sandboxctl.io/localworkloads:create", "shop");

        var (code, stdout, stderr) = await Cluster.RunAsync("--routing-key", "feature-x", "--port", $"{laptop.Port}:8080");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain("error: the cluster does not allow you to create localworkloads.sandboxctl.io in namespace shop (403 Forbidden)."));
            Assert.That(stderr, Does.Contain("hint: Check with: kubectl auth can-i create localworkloads.sandboxctl.io -n shop"));
            Assert.That(stdout, Does.Contain("\"event\":\"error\""), "-o json says it too");
            Assert.That(Api.Refused, Is.EqualTo(new[] { (FakeApiServer.Developer, "sandboxctl.io/localworkloads:create", (string?)"shop") }));
            Assert.That(Api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev"), Is.Null);
            Assert.That(Directory.EnumerateFiles(Cluster.State), Is.Empty, "no state file");
            Assert.That(host.Services.GetRequiredService<WorkloadTunnels>().Count, Is.Zero, "nothing on the broker");
            Assert.That(Cluster.Log.Contains("Agent connected") || Cluster.Log.Contains("Refused an agent"), Is.False, "no agent reached the broker");
        });
    }

    [Test]
    public async Task Force_UserMayNotPatchLocalWorkloads_ExitsOneNamingThePatch_AndTheHoldersWorkloadIsLeftAlone()
    {
        var laptop = Cluster.Disposables.Track(new LocalHttpEcho("laptop"));
        Api.Put(FakeApiServer.LocalWorkloads, HeldByAnother());
        await Cluster.StartHostAsync();
        Api.Deny(FakeApiServer.Developer, "sandboxctl.io/localworkloads:patch", "shop");

        var (code, _, stderr) = await Cluster.RunAsync("--routing-key", "feature-x", "--port", $"{laptop.Port}:8080", "--force");

        var left = Api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev")!;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain("the cluster does not allow you to patch localworkloads.sandboxctl.io in namespace shop (403 Forbidden)."));
            Assert.That(stderr, Does.Contain("kubectl auth can-i patch localworkloads.sandboxctl.io -n shop"));
            Assert.That((string?)left["spec"]!["routingKey"], Is.EqualTo("other"));
            Assert.That((string?)left["spec"]!["secretHash"], Is.EqualTo(OtherHash), "the holder keeps it");
            Assert.That(Directory.EnumerateFiles(Cluster.State), Is.Empty, "no state file");
        });
    }

    [Test]
    public async Task ChartsDeveloperRole_IsAllThatConnectForceAndCtrlCNeed()
    {
        var laptop = Cluster.Disposables.Track(new LocalHttpEcho("laptop"));
        Api.Put(FakeApiServer.LocalWorkloads, HeldByAnother());
        await Cluster.StartHostAsync();
        Api.GrantOnly(FakeApiServer.Developer, DeveloperRole());

        var agent = Cluster.Start("--routing-key", "feature-x", "--port", $"{laptop.Port}:8080", "--force");
        var connected = await agent.NextAsync("connected");
        var taken = Api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev")!;
        var keyed = await LocalHttpEcho.GetAsync(LocalConnectCluster.BrokerPort(connected), "/mine", "x-routing-key: feature-x");

        Assert.Multiple(() =>
        {
            Assert.That((string?)connected["routingKey"], Is.EqualTo("feature-x"));
            Assert.That((string?)taken["spec"]!["routingKey"], Is.EqualTo("feature-x"));
            Assert.That((string?)taken["spec"]!["secretHash"], Does.Match("^sha256:[0-9a-f]{64}$").And.Not.EqualTo(OtherHash), "--force replaced the hash");
            Assert.That(taken["spec"]!.AsObject().ContainsKey("expose"), Is.False, "the whole spec is replaced: the old one's fields are gone");
            Assert.That(keyed, Does.StartWith("laptop\nGET /mine"));
        });

        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
        Assert.Multiple(() =>
        {
            Assert.That(Api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev"), Is.Null, "Ctrl+C deleted it");
            Assert.That(Api.Refused, Is.Empty, "the developer role allowed every call");
        });
    }

    [TestCase("sandboxctl.io/localworkloads:get", "get", "localworkloads.sandboxctl.io", TestName = "Broker_MayNotReadTheNamespacesLocalWorkloads_RefusesItsAgentClearly_OneWarning_OtherNamespacesServed")]
    [TestCase("sandboxctl.io/localworkloads/status:patch", "patch", "localworkloads.sandboxctl.io/status", TestName = "Broker_MayNotWriteTheNamespacesLocalWorkloadStatus_RefusesItsAgentClearly_OneWarning_OtherNamespacesServed")]
    public async Task Broker_ServiceAccountDenied_RefusesTheAgentClearly_OneWarning_OtherNamespacesServed(string permission, string verb, string resource)
    {
        var laptop = Cluster.Disposables.Track(new LocalHttpEcho("laptop"));
        Api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("team-b", "cart"));
        Api.Deny(FakeApiServer.ControlPlaneAccount, permission, "team-b");
        await Cluster.StartHostAsync();
        Cluster.Log.Expect("its agent is refused until then: grant the control plane's ServiceAccount the chart's RBAC");

        // The leader's status writers cannot write a status the RBAC forbids either; each says so on its own, once: the
        // phase writer, and the routing status writer, which retries the object with backoff (an admin may fix the RBAC).
        Cluster.Log.Expect("Could not write the status of \"LocalWorkload team-b/cart-dev\"");
        Cluster.Log.Expect("Status writes fail (");

        var served = Cluster.Start("--routing-key", "feature-x", "--port", $"{laptop.Port}:8080");
        var connected = await served.NextAsync("connected");
        var (code, _, stderr) = await Cluster.RunAsync("-n", "team-b", "--routing-key", "feature-y", "--port", $"{laptop.Port}:8080");

        var warnings = Cluster.Log.Events.Where(e => e.EventId == 7150).Select(e => (e.Level, Text: e.Text.Replace("\\\"", "'", StringComparison.Ordinal).Replace("\"", "", StringComparison.Ordinal))).ToArray();
        Assert.Multiple(async () =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain($"the tunnel broker cannot serve this agent: the control plane may not {verb} {resource} in namespace team-b (403 Forbidden)"));
            Assert.That(stderr, Does.Contain("tell the cluster's admin"));
            Assert.That(Api.Get(FakeApiServer.LocalWorkloads, "team-b", "cart-dev"), Is.Null, "the refused agent deleted its LocalWorkload");
            Assert.That(warnings, Has.Length.EqualTo(1), "one warning: the refusal is not retried");
            Assert.That(warnings.Single().Level, Is.EqualTo(Serilog.Events.LogEventLevel.Warning));
            Assert.That(warnings.Single().Text, Does.StartWith($"The API server refused the control plane's {verb} of {resource} in namespace team-b (403) for LocalWorkload team-b/cart-dev; its agent is refused until then"));
            Assert.That(warnings.Single().Text, Does.Contain($"User 'system:serviceaccount:sandboxctl-system:xds-control-plane' cannot {verb} resource '{resource.Replace(".sandboxctl.io", "", StringComparison.Ordinal)}' in API group 'sandboxctl.io' in the namespace 'team-b'"));
            Assert.That(await LocalHttpEcho.GetAsync(LocalConnectCluster.BrokerPort(connected), "/still", "x-routing-key: feature-x"), Does.StartWith("laptop\nGET /still"), "shop's agent is served");
        });
        Assert.That(await served.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), served.Stderr);
    }

    /// <summary>A LocalWorkload <c>shop/cart-dev</c> another developer's agent holds.</summary>
    private static JsonObject HeldByAnother() => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "LocalWorkload",
        ["metadata"] = new JsonObject { ["name"] = "cart-dev", ["namespace"] = "shop" },
        ["spec"] = new JsonObject
        {
            ["routingKey"] = "other",
            ["service"] = "cart",
            ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }),
            ["expose"] = new JsonArray(new JsonObject { ["service"] = "orders.billing" }),
            ["secretHash"] = OtherHash,
        },
        ["status"] = new JsonObject { ["phase"] = "Connected" },
    };

    /// <summary>What the chart grants a developer (charts/xds-control-plane/templates/developer-rbac.yaml), as <c>group/resource:verb</c>.</summary>
    private static string[] DeveloperRole()
    {
        // Lines that are one template action ({{- if }}, {{- end }}, {{- include "labels" }}) carry no rule.
        var text = string.Join('\n', File.ReadAllLines(RepoDirectory.Path("charts", "xds-control-plane", "templates", "developer-rbac.yaml"))
                .Where(line => !line.TrimStart().StartsWith("{{", StringComparison.Ordinal)))
            .Replace("{{ .Release.Namespace }}", LocalConnectCluster.ControlPlane, StringComparison.Ordinal);
        return [.. text.Split("\n---", StringSplitOptions.RemoveEmptyEntries)
            .Select(document => YamlJson.Convert(document))
            .OfType<JsonObject>()
            .Where(role => (string?)role["kind"] is "ClusterRole" or "Role")
            .SelectMany(role => role["rules"]!.AsArray().SelectMany(rule =>
                rule!["resources"]!.AsArray().SelectMany(resource =>
                    rule["verbs"]!.AsArray().Select(verb => $"{(string?)rule["apiGroups"]![0]}/{resource}:{verb}"))))];
    }
}
