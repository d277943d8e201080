using System.Diagnostics;
using System.Globalization;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The server host on a manifest directory, and a real proxyless gRPC client calling real gRPC backends on loopback:
/// routing by key, weights, matchers, hot reload, bad input. Runs once per client: @grpc/grpc-js-xds (Node) and gRPC
/// C-core (Debian's python3-grpcio; reported as skipped where it is not installed). Any Warning or Error the server
/// logs that a test did not expect fails that test.
/// </summary>
[Category("XdsClients")]
[NonParallelizable]
[TestFixture(XdsClientKind.GrpcJs)]
[TestFixture(XdsClientKind.GrpcCore)]
public sealed class RoutingEndToEndTests(XdsClientKind client)
{
    private const string Target = "xds:///echo.shop:8080";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    // Short enough that every test runs the clients' outlier-detection timers many times over.
    private static readonly TimeSpan OutlierInterval = TimeSpan.FromMilliseconds(500);
    private readonly HostLog _log = new();
    private string _directory = "";
    private ServerHost? _host;
    private XdsClientHarness? _harness;

    private XdsClientHarness Harness => _harness!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-e2e-").FullName;
        using var cancel = new CancellationTokenSource(Timeout);
        _host = new InProcessServer()
            .WithManifests(_directory)
            .WithLog(_log)
            .With("Translation:OutlierInterval", OutlierInterval)
            .With("Translation:OutlierBaseEjectionTime", TimeSpan.FromSeconds(1))
            .With("Translation:OutlierMaxEjectionTime", TimeSpan.FromSeconds(1))
            .Create();
        await _host.StartAsync(cancel.Token);
        _harness = await XdsClientHarness.StartAsync(client, _host.XdsPort, $"grpc-e2e-{client}", "grpc", "shop", "baseline", "fork", "v2");
        await File.WriteAllTextAsync(Path.Combine(_directory, "inventory.yaml"), Inventory(Harness.BackendPorts), cancel.Token);
        await File.WriteAllTextAsync(Path.Combine(_directory, "routing.yaml"), Routing, cancel.Token);
        await File.WriteAllTextAsync(Path.Combine(_directory, "edits.yaml"), Edits(prefix: "/xdscp.test.Echo/Shout"), cancel.Token);
        await Eventually.WaitAsync(async () => (await CallAsync(1, ("x-routing-key", "feature-x"))).GetValueOrDefault("fork") == 1, "the first snapshot to route by key");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }

        if (_host is not null)
        {
            using var cancel = new CancellationTokenSource(Timeout);
            await _host.StopAsync(cancel.Token);
            await _host.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [SetUp]
    public void ClearLog()
    {
        _log.Clear();
    }

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    [Test]
    public async Task Call_WithoutKey_ReachesBaseline() =>
        Assert.That(await CallAsync(20), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 20 }));

    [Test]
    public async Task Call_WithRoutingKeyHeader_ReachesFork() =>
        Assert.That(await CallAsync(20, ("x-routing-key", "feature-x")), Is.EquivalentTo(new Dictionary<string, int> { ["fork"] = 20 }));

    [TestCase("tenant=acme,routing-key=feature-x;ttl=60")]
    [TestCase("routing-key = feature-x")]
    [TestCase("routing-key=feature-x,tenant=acme")]
    public async Task Call_WithKeyAmongBaggageMembers_ReachesFork(string baggage) =>
        Assert.That(await CallAsync(10, ("baggage", baggage)), Is.EquivalentTo(new Dictionary<string, int> { ["fork"] = 10 }));

    [TestCase("my-routing-key=feature-x")]
    [TestCase("routing-key=feature-x2")]
    [TestCase("tenant=acme;routing-key=feature-x")]
    public async Task Call_WithBaggageThatOnlyContainsTheKeyText_ReachesBaseline(string baggage) =>
        Assert.That(await CallAsync(10, ("baggage", baggage)), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 10 }));

    [Test]
    public async Task Call_WithUnknownKey_ReachesBaseline() =>
        Assert.That(await CallAsync(20, ("x-routing-key", "nobody-has-this-key")), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 20 }));

    [Test]
    public async Task Call_WithWeightedKey_Splits80To20()
    {
        var counts = await CallAsync(500, ("x-routing-key", "canary"));
        var share = 100.0 * counts.GetValueOrDefault("v2") / 500;
        TestContext.Out.WriteLine($"v2 share: {share.ToString("F1", CultureInfo.InvariantCulture)}% ({string.Join(", ", counts)})");
        Assert.Multiple(() =>
        {
            Assert.That(counts.Keys, Is.SubsetOf(new[] { "v2", "baseline" }));
            Assert.That(share, Is.InRange(72.0, 88.0));
        });
    }

    [Test]
    public async Task Call_PathPrefixRoute_MatchesOnlyThatMethod()
    {
        var shout = await CallAsync(10, "Shout", ("x-routing-key", "paths"));
        var say = await CallAsync(10, "Say", ("x-routing-key", "paths"));
        Assert.Multiple(() =>
        {
            Assert.That(shout, Is.EquivalentTo(new Dictionary<string, int> { ["v2"] = 10 }));
            Assert.That(say, Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 10 }));
        });
    }

    [Test]
    public async Task Call_HeaderMatcherRoute_NeedsTheHeader()
    {
        var alice = await CallAsync(10, ("x-routing-key", "users"), ("x-user", "alice"));
        var bob = await CallAsync(10, ("x-routing-key", "users"), ("x-user", "bob"));
        Assert.Multiple(() =>
        {
            Assert.That(alice, Is.EquivalentTo(new Dictionary<string, int> { ["fork"] = 10 }));
            Assert.That(bob, Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 10 }));
        });
    }

    [Test]
    public async Task EditRouteGroupFile_ChangesRouting()
    {
        try
        {
            Assert.That(await CallAsync(5, "Say", ("x-routing-key", "edits")), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 5 }));
            var clock = Stopwatch.StartNew();
            await File.WriteAllTextAsync(Path.Combine(_directory, "edits.yaml"), Edits(prefix: "/xdscp.test.Echo/"));
            await Eventually.WaitAsync(async () => (await CallAsync(1, "Say", ("x-routing-key", "edits"))).ContainsKey("v2"), "the edited route to take effect");
            TestContext.Out.WriteLine($"routing changed {clock.ElapsedMilliseconds} ms after the file was written (measured, not asserted)");
            Assert.That(await CallAsync(10, "Say", ("x-routing-key", "edits")), Is.EquivalentTo(new Dictionary<string, int> { ["v2"] = 10 }));
        }
        finally
        {
            await File.WriteAllTextAsync(Path.Combine(_directory, "edits.yaml"), Edits(prefix: "/xdscp.test.Echo/Shout"));
            await Eventually.WaitAsync(async () => (await CallAsync(1, "Say", ("x-routing-key", "edits"))).ContainsKey("baseline"), "the edit to be undone");
        }
    }

    /// <summary>
    /// The client keeps calling for many of its outlier-detection intervals while a RouteGroup appears: no call may
    /// fail and the client process must survive (grpc-js-xds 1.14 used to die in its success-rate check 10 s after it
    /// got our clusters, with an uncaught TypeError).
    /// </summary>
    [Test]
    public async Task CallsAcrossOutlierIntervalsAndARouteGroupEdit_NoneFail()
    {
        var file = Path.Combine(_directory, "long-run.yaml");
        try
        {
            var running = Harness.CallForAsync(Target, OutlierInterval * 12, new Dictionary<string, string> { ["x-routing-key"] = "long-run" });
            await Task.Delay(OutlierInterval * 3);
            await File.WriteAllTextAsync(file, """
                apiVersion: sandboxctl.io/v1alpha1
                kind: RouteGroup
                metadata: {name: long-run, namespace: shop}
                spec:
                  routes:
                  - service: echo
                    to: [{service: echo-v2}]
                """);
            var (backends, errors) = await running;
            TestContext.Out.WriteLine($"{client}: {string.Join(", ", backends)}");
            Assert.Multiple(async () =>
            {
                Assert.That(errors, Is.Empty, "calls failed");
                Assert.That(backends.Keys, Is.EquivalentTo(new[] { "baseline", "v2" }), "routed to the baseline, then by the new RouteGroup");
                Assert.That(await CallAsync(5, ("x-routing-key", "long-run")), Is.EquivalentTo(new Dictionary<string, int> { ["v2"] = 5 }), "the client is still alive");
            });
            if (client == XdsClientKind.GrpcJs)
            {
                Assert.That(Harness.Stderr(), Does.Contain("Running failure percentage check"), "the client's own outlier-detection checks ran");
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task AddInvalidFiles_OtherRoutingKeepsWorkingAndFieldPathIsLogged()
    {
        var broken = Path.Combine(_directory, "broken.yaml");
        var notYaml = Path.Combine(_directory, "not-yaml.yaml");
        _log.Expect("broken.yaml");
        _log.Expect("not-yaml.yaml");
        try
        {
            await File.WriteAllTextAsync(broken, """
                apiVersion: sandboxctl.io/v1alpha1
                kind: RouteGroup
                metadata: {name: broken, namespace: shop}
                spec:
                  routes:
                  - service: echo
                    to:
                    - {service: echo-v2, weight: 70}
                    - {service: echo, weight: 20}
                """);
            await File.WriteAllTextAsync(notYaml, "kind: [unclosed\n");
            // Two files written one after the other may be read in two passes, and a pass may log its problems in any
            // order: wait for both problems, not for the first.
            await Eventually.WaitAsync(
                () => Task.FromResult(_log.Contains("spec.routes[0].to: weights must sum to 100, got 90") && _log.Contains("not-yaml.yaml") && _log.Contains("not valid YAML")),
                "both problems to be logged");

            Assert.Multiple(async () =>
            {
                Assert.That(_log.Contains("broken.yaml"), Is.True, "the log names the file");
                Assert.That(_log.Contains("not-yaml.yaml") && _log.Contains("not valid YAML"), Is.True, "the YAML error is logged");
                Assert.That(await CallAsync(10, ("x-routing-key", "feature-x")), Is.EquivalentTo(new Dictionary<string, int> { ["fork"] = 10 }));
                Assert.That(await CallAsync(10, ("x-routing-key", "broken")), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 10 }));
                Assert.That(await CallAsync(10), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 10 }));
            });
        }
        finally
        {
            File.Delete(broken);
            File.Delete(notYaml);
            await Eventually.WaitAsync(() => Task.FromResult(_log.Contains("; 0 problems")), "the removal of the broken files to be loaded");
        }
    }

    private Task<Dictionary<string, int>> CallAsync(int count, params (string Name, string Value)[] metadata) => CallAsync(count, "Say", metadata);

    private async Task<Dictionary<string, int>> CallAsync(int count, string method, params (string Name, string Value)[] metadata)
    {
        var (backends, errors) = await Harness.CallAsync(Target, count, metadata.ToDictionary(m => m.Name, m => m.Value), method);
        Assert.That(errors, Is.Empty, "calls failed");
        return backends;
    }

    private static string Inventory(IReadOnlyDictionary<string, int> ports)
    {
        string Service(string name, string labels = "")
        {
            var port = ports[name == "echo" ? "baseline" : name == "echo-fork" ? "fork" : "v2"];
            return $$$"""
            apiVersion: v1
            kind: Service
            metadata: {name: {{{name}}}, namespace: shop{{{labels}}}}
            spec:
              ports: [{name: grpc, port: 8080}]
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: {{{name}}}-1, namespace: shop, labels: {kubernetes.io/service-name: {{{name}}}}}
            addressType: IPv4
            ports: [{name: grpc, port: {{{port}}}}]
            endpoints: [{addresses: [127.0.0.1], zone: zone-a}]
            ---

            """;
        }

        return Service("echo") + Service("echo-fork", ", labels: {sandboxctl.io/sandbox: feature-x, sandboxctl.io/fork-of: echo}") + Service("echo-v2");
    }

    private const string Routing = """
        apiVersion: sandboxctl.io/v1alpha1
        kind: Sandbox
        metadata: {name: feature-x, namespace: shop}
        spec:
          forks: [{of: {kind: Deployment, name: echo}}]
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: canary, namespace: shop}
        spec:
          routes:
          - service: echo
            to: [{service: echo-v2, weight: 80}, {service: echo, weight: 20}]
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: paths, namespace: shop}
        spec:
          routes:
          - service: echo
            port: 8080
            match: {pathPrefix: /xdscp.test.Echo/Shout}
            to: [{service: echo-v2}]
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: users, namespace: shop}
        spec:
          routes:
          - service: echo
            match:
              headers: [{name: x-user, exact: alice}]
            to: [{sandbox: feature-x}]
        """;

    private static string Edits(string prefix) => $$"""
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: edits, namespace: shop}
        spec:
          routes:
          - service: echo
            match: {pathPrefix: "{{prefix}}"}
            to: [{service: echo-v2}]
        """;
}
