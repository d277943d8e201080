using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// Local connect in Kubernetes mode with two server replicas as real processes on one fake API server: the agent's
/// stream is held by replica A, a real proxyless gRPC client (@grpc/grpc-js-xds) gets its xDS from replica B, and keyed
/// calls still reach the laptop, because A writes its address and broker port to the LocalWorkload's status and B
/// translates the same endpoint. The agent proves itself with the secret whose hash it stored in the LocalWorkload;
/// a killed agent's routes fall back as soon as replica A lost its stream (the workload held for the reconnect grace,
/// so the agent that comes back gets the same broker port), a goodbye's at once.
/// </summary>
[Category("XdsClients")]
[NonParallelizable]
public sealed class LocalConnectReplicaTests
{
    private const string Target = "xds:///echo.shop:8080";
    private const string Secret = "a-fresh-random-secret-made-by-the-agent";
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("xdscp-replicas-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task AgentOnReplicaA_ClientOnReplicaB_KeyedCallsReachTheLaptop_AKilledAgentsFallBackAtOnce_AndComeBackOnReconnect()
    {
        await using var api = await FakeApiServer.StartAsync();
        api.Put(FakeApiServer.Services, Service());
        await using var a = await ReplicaAsync(api, "replica-a");
        await using var b = await ReplicaAsync(api, "replica-b");
        await using var client = await XdsClientHarness.StartAsync(XdsClientKind.GrpcJs, b.XdsPort, "grpc-replica-b", "grpc", "shop", "baseline", "laptop");
        api.Put(FakeApiServer.EndpointSlices, Slice(client.BackendPorts["baseline"]));
        // Until the EndpointSlice reaches the client, calls fail: wait without counting those.
        await Eventually.WaitAsync(async () => (await client.CallAsync(Target, 1)).Backends.GetValueOrDefault("baseline") == 1, () => $"the baseline through replica B; B's output:\n{b.Output()}");

        // What sandboxctl local connect does with the user's credentials: create the LocalWorkload with the secret's hash.
        api.Put(FakeApiServer.LocalWorkloads, Workload(SecretHash(Secret)));
        await ReadyAsync(a);
        var wrong = Assert.ThrowsAsync<RpcException>(async () => await ConnectAsync(a, "not-the-secret", client))!;
        Assert.Multiple(() =>
        {
            Assert.That(wrong.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(wrong.Status.Detail, Does.Contain("does not match spec.secretHash of LocalWorkload shop/alice"));
        });

        var agent = await ConnectAsync(a, Secret, client);
        await Eventually.WaitAsync(async () => (await client.CallAsync(Target, 1, Keyed)).Backends.GetValueOrDefault("laptop") == 1, () => $"keyed calls through replica B to reach the laptop on replica A; B's output:\n{b.Output()}");
        var tunnel = api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")!["status"]!["tunnel"]!;
        Assert.Multiple(async () =>
        {
            Assert.That(await CallAsync(client, 20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["laptop"] = 20 }));
            Assert.That(await CallAsync(client, 20), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 20 }));
            Assert.That((string?)tunnel["replica"], Is.EqualTo("replica-a"));
            Assert.That((int?)tunnel["ports"]![0]!["brokerPort"], Is.EqualTo((int)agent.Welcome.Endpoints[0].BrokerPort));
            Assert.That(Phase(api), Is.EqualTo("Connected"));
        });

        // kill -9 (or a laptop that sleeps): no goodbye. Replica A writes Disconnected at once, keeping the tunnel's
        // address and broker port for the reconnect grace (far longer than these waits, so the grace ends nothing here);
        // replica B withdraws the routes from that status, and the leader does not age it back.
        var port = (int)agent.Welcome.Endpoints[0].BrokerPort;
        await agent.DisposeAsync();
        await Eventually.WaitAsync(
            async () => (await client.CallAsync(Target, 1, Keyed)).Backends.GetValueOrDefault("baseline") == 1,
            () => $"keyed calls through replica B to reach the baseline while the workload is held; status: {api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")?["status"]}; A's output:\n{a.Output()}");
        var held = api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")!["status"]!;
        Assert.Multiple(async () =>
        {
            Assert.That(await CallAsync(client, 20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 20 }), "no keyed call waits for the missing agent");
            Assert.That((string?)held["phase"], Is.EqualTo("Disconnected"));
            Assert.That((string?)held["tunnel"]!["address"], Is.Not.Null, "the tunnel is held for a reconnect");
            Assert.That((int?)held["tunnel"]!["ports"]![0]!["brokerPort"], Is.EqualTo(port));
        });

        // The agent comes back within the grace: the same broker port, Connected, and keyed calls through B reach it again.
        await using var again = await ConnectAsync(a, Secret, client);
        await Eventually.WaitAsync(async () => (await client.CallAsync(Target, 1, Keyed)).Backends.GetValueOrDefault("laptop") == 1, () => $"keyed calls through replica B to reach the laptop again; B's output:\n{b.Output()}");
        Assert.Multiple(async () =>
        {
            Assert.That((int)again.Welcome.Endpoints[0].BrokerPort, Is.EqualTo(port));
            Assert.That(Phase(api), Is.EqualTo("Connected"));
            Assert.That(await CallAsync(client, 20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["laptop"] = 20 }));
        });
    }

    [Test]
    public async Task Goodbye_WithdrawsTheTunnelAtOnce_AndAWorkloadWithoutSecretHashIsRefused()
    {
        await using var api = await FakeApiServer.StartAsync();
        api.Put(FakeApiServer.Services, Service());
        await using var a = await ReplicaAsync(api, "replica-a");
        await using var client = await XdsClientHarness.StartAsync(XdsClientKind.GrpcJs, a.XdsPort, "grpc-one", "grpc", "shop", "baseline", "laptop");
        api.Put(FakeApiServer.EndpointSlices, Slice(client.BackendPorts["baseline"]));
        await Eventually.WaitAsync(async () => (await client.CallAsync(Target, 1)).Backends.GetValueOrDefault("baseline") == 1, () => $"the baseline; output:\n{a.Output()}");

        api.Put(FakeApiServer.LocalWorkloads, Workload(secretHash: null));
        await ReadyAsync(a);
        var refused = Assert.ThrowsAsync<RpcException>(async () => await ConnectAsync(a, Secret, client))!;
        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(refused.Status.Detail, Does.Contain("has no spec.secretHash"));
        });

        api.Put(FakeApiServer.LocalWorkloads, Workload(SecretHash(Secret)));
        var agent = await ConnectAsync(a, Secret, client);
        await Eventually.WaitAsync(async () => (await client.CallAsync(Target, 1, Keyed)).Backends.GetValueOrDefault("laptop") == 1, () => $"keyed calls to reach the laptop; output:\n{a.Output()}");

        var left = Stopwatch.StartNew();
        await agent.GoodbyeAsync();
        await Eventually.WaitAsync(async () => (await CallAsync(client, 1, "feature-x")).GetValueOrDefault("baseline") == 1, "keyed calls to fall back after the goodbye");
        TestContext.Out.WriteLine($"fallback {left.ElapsedMilliseconds} ms after the goodbye");
        Assert.Multiple(() =>
        {
            Assert.That(Phase(api), Is.EqualTo("Disconnected"));
            Assert.That(api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")!["status"]!["tunnel"]!["address"], Is.Null, "the tunnel is withdrawn");
            Assert.That(a.Output(), Does.Not.Contain(Secret), "the secret is never logged");
            var granted = CustomResourceDefinitionTests.ChartPermissions().Select(p => p[(p.IndexOf(':', StringComparison.Ordinal) + 1)..]);
            Assert.That(api.Permissions(), Is.SubsetOf(granted), "the broker asks nothing of the API server the chart's RBAC would refuse");
        });
        await agent.DisposeAsync();
    }

    [Test]
    public async Task Force_AnotherAgentWithTheReplacedSecret_TakesTheWorkloadOver_WhileAnyOtherIsRefused()
    {
        await using var api = await FakeApiServer.StartAsync();
        api.Put(FakeApiServer.Services, Service());
        await using var a = await ReplicaAsync(api, "replica-a");
        await using var laptop = await XdsClientHarness.StartAsync(XdsClientKind.GrpcJs, a.XdsPort, "grpc-force", "grpc", "shop", "baseline", "laptop");
        api.Put(FakeApiServer.EndpointSlices, Slice(laptop.BackendPorts["baseline"]));
        api.Put(FakeApiServer.LocalWorkloads, Workload(SecretHash(Secret)));
        await ReadyAsync(a);
        await using var first = await ConnectAsync(a, Secret, laptop, session: "first");

        var second = Assert.ThrowsAsync<RpcException>(async () => await ConnectAsync(a, Secret, laptop, session: "second"))!;
        Assert.Multiple(() =>
        {
            Assert.That(second.StatusCode, Is.EqualTo(StatusCode.AlreadyExists));
            Assert.That(second.Status.Detail, Does.Contain("is connected from another agent"));
        });

        // sandboxctl local connect --force: the new agent replaces the secret hash, then connects with its own secret.
        const string Replaced = "the-secret-of-the-agent-that-forced";
        var workload = api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")!;
        workload["spec"]!["secretHash"] = SecretHash(Replaced);
        api.Put(FakeApiServer.LocalWorkloads, workload);
        await using var forced = await ConnectAsync(a, Replaced, laptop, session: "forced");

        try
        {
            await first.Ended.WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (RpcException)
        {
            // Ended by the broker: either way is an end.
        }

        Assert.Multiple(() =>
        {
            Assert.That(first.Ended.IsCompleted, Is.True, "the first agent's stream is ended");
            Assert.That(forced.Ended.IsCompleted, Is.False, "the forcing agent holds the workload");
        });
    }

    /// <summary>Until a replica published its first snapshot its broker has nothing to check a Service against (UNAVAILABLE, which agents retry).</summary>
    private static async Task ReadyAsync(ServerProcess replica)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{replica.AdminPort}") };
        await Eventually.WaitAsync(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, () => $"the replica to be ready; output:\n{replica.Output()}");
    }

    private async Task<ServerProcess> ReplicaAsync(FakeApiServer api, string name)
    {
        var kubeconfig = Path.Combine(_directory, "kubeconfig");
        await File.WriteAllTextAsync(kubeconfig, FakeApiServer.KubeconfigYaml(api.Url.ToString()));
        return await ServerProcess.StartAsync(["--kubernetes", "--kubeconfig", kubeconfig, "--tunnel-listen-ports", "0"], new Dictionary<string, string>
        {
            ["HOME"] = Directory.CreateDirectory(Path.Combine(_directory, name)).FullName,
            ["POD_NAME"] = name,
            ["POD_NAMESPACE"] = "sandboxctl-system",

            // Seconds, not the production timings: a heartbeat written every second, a grace longer than any wait here.
            ["XDSCP_TUNNEL__HEARTBEATWRITEINTERVAL"] = "00:00:01",
            ["XDSCP_TUNNEL__RECONNECTGRACE"] = "00:02:00",
        });
    }

    private static Task<TunnelTestAgent> ConnectAsync(ServerProcess replica, string secret, XdsClientHarness laptop, string session = "session-1")
    {
        var hello = TunnelTestAgent.Hello("shop", "alice", "echo", [], secret: secret, session: session);
        hello.Spec = null;
        return TunnelTestAgent.ConnectAsync(replica.TunnelPort, hello, new Dictionary<int, int> { [8080] = laptop.BackendPorts["laptop"] });
    }

    private static async Task<Dictionary<string, int>> CallAsync(XdsClientHarness client, int count, string? key = null)
    {
        var (backends, errors) = await client.CallAsync(Target, count, key is null ? null : new Dictionary<string, string> { ["x-routing-key"] = key });
        Assert.That(errors, Is.Empty, $"calls failed: {string.Join("; ", errors)}");
        return backends;
    }

    /// <summary>The routing key as a call's metadata (waits for the laptop's routes do not count the client's failures while they come into force).</summary>
    private static readonly Dictionary<string, string> Keyed = new() { ["x-routing-key"] = "feature-x" };

    private static string? Phase(FakeApiServer api) => (string?)api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")?["status"]?["phase"];

    private static string SecretHash(string secret) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static JsonObject Workload(string? secretHash)
    {
        var spec = new JsonObject
        {
            ["routingKey"] = "feature-x",
            ["service"] = "echo",
            ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080, ["protocol"] = "grpc" }),
        };
        if (secretHash is not null)
        {
            spec["secretHash"] = secretHash;
        }

        return new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "LocalWorkload",
            ["metadata"] = new JsonObject { ["name"] = "alice", ["namespace"] = "shop" },
            ["spec"] = spec,
        };
    }

    private static JsonObject Service() => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Service",
        ["metadata"] = new JsonObject { ["name"] = "echo", ["namespace"] = "shop" },
        ["spec"] = new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["name"] = "grpc", ["port"] = 8080, ["protocol"] = "TCP" }) },
    };

    private static JsonObject Slice(int port) => new()
    {
        ["apiVersion"] = "discovery.k8s.io/v1",
        ["kind"] = "EndpointSlice",
        ["metadata"] = new JsonObject { ["name"] = "echo-1", ["namespace"] = "shop", ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = "echo" } },
        ["addressType"] = "IPv4",
        ["ports"] = new JsonArray(new JsonObject { ["name"] = "grpc", ["port"] = port, ["protocol"] = "TCP" }),
        ["endpoints"] = new JsonArray(new JsonObject { ["addresses"] = new JsonArray("127.0.0.1"), ["zone"] = "zone-a", ["conditions"] = new JsonObject { ["ready"] = true } }),
    };
}
