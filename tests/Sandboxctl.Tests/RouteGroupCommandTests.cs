using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl routegroup</c> through the official KubernetesClient against the fake API server, with the control
/// plane's Kubernetes source running against the same server so <c>--wait</c> sees real status.
/// </summary>
public sealed class RouteGroupCommandTests
{
    private FakeApiServer _api = null!;
    private KubernetesRoutingHarness _controlPlane = null!;
    private global::k8s.Kubernetes _client = null!;
    private CliHarness _cli = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _api = await FakeApiServer.StartAsync();
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart-v2"));

        _client = new global::k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url.ToString() });
        _controlPlane = new KubernetesRoutingHarness(_client, _ => [], TimeProvider.System, NullLogger<KubernetesSource>.Instance, new KubernetesRoutingOptions { Debounce = TimeSpan.FromMilliseconds(20), StatusInterval = TimeSpan.FromMilliseconds(50) });
        await _controlPlane.StartAsync(CancellationToken.None);
        _cli = new CliHarness();
        _cli.DefaultKubeconfig = _cli.Kubeconfig(_api.Url);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _controlPlane.StopAsync(CancellationToken.None);
        _controlPlane.Dispose();
        _client.Dispose();
        await _api.DisposeAsync();
        _cli.Dispose();
    }

    [Test]
    public async Task ApplyWait_ValidRouteGroup_CreatedProgrammedAndExplainsTheKey()
    {
        var (code, stdout, stderr) = await Sandboxctl("routegroup", "apply", "-f", Write("rg.yaml", Group("feature-x", 80, 20)), "--wait", "--timeout", "00:00:20");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stdout, Does.Contain("routegroup.sandboxctl.io/feature-x created"));
            Assert.That(stdout, Does.Contain("RouteGroup shop/feature-x is programmed. Routing key: feature-x"));
            Assert.That(stdout, Does.Contain("curl -H 'x-routing-key: feature-x' http://cart.shop/"));
            Assert.That((string?)_api.Get(FakeApiServer.RouteGroups, "shop", "feature-x")!["spec"]!["routes"]![0]!["service"], Is.EqualTo("cart"));
        });
    }

    [Test]
    public async Task ApplyWait_InvalidRouteGroup_ExitsOneWithTheControlPlanesFieldPath()
    {
        var (code, _, stderr) = await Sandboxctl("routegroup", "apply", "-f", Write("rg.yaml", Group("broken", 70, 20)), "--wait", "--timeout", "00:00:20");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain("RouteGroup shop/broken is not accepted: spec.routes[0].to: weights must sum to 100, got 90"));
        });
    }

    [Test]
    public async Task ApplyAgain_ListGetDelete_BehaveLikeKubectl()
    {
        var file = Write("rg.yaml", Group("feature-x", 80, 20));
        await Sandboxctl("routegroup", "apply", "-f", file, "--wait");
        var (againCode, again, _) = await Sandboxctl("routegroup", "apply", "-f", Write("rg2.yaml", Group("feature-x", 50, 50)));
        var (listCode, list, _) = await Sandboxctl("rg", "list", "--no-color");
        var (getCode, get, _) = await Sandboxctl("routegroup", "get", "feature-x", "-o", "json");
        var (deleteCode, deleted, _) = await Sandboxctl("routegroup", "delete", "feature-x");
        var (goneCode, _, gone) = await Sandboxctl("routegroup", "get", "feature-x");

        Assert.Multiple(() =>
        {
            Assert.That((againCode, listCode, getCode, deleteCode), Is.EqualTo((0, 0, 0, 0)));
            Assert.That(again, Does.Contain("routegroup.sandboxctl.io/feature-x configured"));
            Assert.That(list, Does.Contain("feature-x").And.Contain("True"));
            Assert.That((int?)JsonNode.Parse(get)!["spec"]!["routes"]![0]!["to"]![0]!["weight"], Is.EqualTo(50));
            Assert.That(deleted, Does.Contain("routegroup.sandboxctl.io/feature-x deleted"));
            Assert.That(goneCode, Is.EqualTo(ExitCodes.UserError));
            Assert.That(gone, Does.Contain("RouteGroup shop/feature-x not found."));
        });
    }

    [Test]
    public async Task List_UnreachableCluster_ExitsTwo()
    {
        var (code, _, stderr) = await Sandboxctl("routegroup", "list", "--kubeconfig", _cli.Kubeconfig(new Uri("http://127.0.0.1:1")));

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.ConnectionError));
            Assert.That(stderr, Does.StartWith("error: cannot reach the cluster").And.Contain("hint:"));
        });
    }

    [TestCase("a: {b: c\nd: e\n", "rg.yaml (document 0): not valid YAML")]
    [TestCase("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n", "aliases would expand this file")]
    public async Task Apply_FileThatIsNotValidYaml_ExitsOneAndAppliesNothing(string text, string expected)
    {
        var (code, stdout, stderr) = await Sandboxctl("routegroup", "apply", "-f", Write("rg.yaml", text));

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain(expected).And.Contain("nothing was applied"));
            Assert.That(stdout, Is.Empty);
            Assert.That(_api.List(FakeApiServer.RouteGroups, "shop"), Is.Empty);
        });
    }

    /// <summary>kubectl's rules: no --kubeconfig, the files in KUBECONFIG merged, the second one holding the current context.</summary>
    [Test]
    public async Task List_KubeconfigFromTheEnvironmentOnly_TwoFilesMerged()
    {
        await Sandboxctl("routegroup", "apply", "-f", Write("rg.yaml", Group("feature-x", 80, 20)));
        var (first, second) = _cli.SplitKubeconfig(_api.Url);
        var environment = new Dictionary<string, string?> { ["KUBECONFIG"] = $"{first}{Path.PathSeparator}{Path.PathSeparator}/no/such/file{Path.PathSeparator}{second}", ["HOME"] = _cli.EmptyHome() };

        var (code, stdout, stderr) = await CliHarness.RunProcessAsync(environment, "routegroup", "list", "-o", "json");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(JsonNode.Parse(stdout)!.AsArray().Select(g => (string?)g!["metadata"]!["name"]), Is.EqualTo(new[] { "feature-x" }), "the namespace 'shop' came from the first file's context");
        });
    }

    [Test]
    public async Task List_KubeconfigListsOnlyMissingFiles_ExitsOneNamingThem()
    {
        var environment = new Dictionary<string, string?> { ["KUBECONFIG"] = $"/no/such/a{Path.PathSeparator}/no/such/b", ["HOME"] = _cli.EmptyHome() };

        var (code, _, stderr) = await CliHarness.RunProcessAsync(environment, "routegroup", "list");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain("none of the files in KUBECONFIG exists: /no/such/a, /no/such/b"));
        });
    }

    private Task<(int Code, string Stdout, string Stderr)> Sandboxctl(params string[] args) => _cli.RunAsync(args);

    private string Write(string name, string text) => _cli.Write(name, text);

    private static string Group(string name, int first, int second) => $$"""
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: {{name}}}
        spec:
          routes:
          - service: cart
            to: [{service: cart-v2, weight: {{first}}}, {service: cart, weight: {{second}}}]
        """;
}
