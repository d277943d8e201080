using System.Net;
using System.Text.Json.Nodes;
using XdsControlPlane.Server;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// A fake cluster for <c>sandboxctl local connect</c> as a real process in Kubernetes mode: the fake API server (the
/// Service <c>shop/cart</c> the laptop stands in for), the in-process control plane reading it — its broker reached
/// through a port-forward to the control-plane pod, as the agent reaches it without <c>--server</c> — a kubeconfig
/// (namespace <c>shop</c>), the agents' state directory and the host's log, which must hold no warning a test did not
/// expect when the cluster is disposed.
/// </summary>
internal sealed class LocalConnectCluster : IAsyncDisposable
{
    /// <summary>Where the control plane's pods run.</summary>
    public const string ControlPlane = "sandboxctl-system";

    /// <summary>The control plane's pod the agents port-forward to.</summary>
    public const string ControlPlanePod = "xds-control-plane-0";

    private readonly CliHarness _cli = new();

    private LocalConnectCluster(FakeApiServer api)
    {
        Api = api;
        Kubeconfig = _cli.Kubeconfig(api.Url);
        Api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
    }

    /// <summary>The fake API server.</summary>
    public FakeApiServer Api { get; }

    /// <summary>The control plane's log.</summary>
    public HostLog Log { get; } = new();

    /// <summary>What the test started (agents, backends), disposed first.</summary>
    public TestDisposables Disposables { get; } = new();

    /// <summary>The agents' state directory (<c>SANDBOXCTL_STATE_DIR</c>).</summary>
    public string State { get; } = Directory.CreateTempSubdirectory("local-state-").FullName;

    /// <summary>The developer's kubeconfig.</summary>
    public string Kubeconfig { get; }

    /// <summary>The control plane, once <see cref="StartHostAsync"/> started it.</summary>
    public ServerHost Host { get; private set; } = null!;

    public static async Task<LocalConnectCluster> StartAsync() => new(await FakeApiServer.StartAsync());

    /// <summary>Starts the control plane in Kubernetes mode (with <paramref name="configure"/>'s settings) and the pod its broker is reached through.</summary>
    public async Task<ServerHost> StartHostAsync(Func<InProcessServer, InProcessServer>? configure = null)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var server = new InProcessServer().WithLog(Log).WithKubernetesApi(Api.Url);
        Host = Disposables.Track(await (configure?.Invoke(server) ?? server).StartAsync(cancel.Token));
        AddControlPlanePod(Api, new IPEndPoint(IPAddress.Loopback, Host.TunnelPort));
        return Host;
    }

    /// <summary>The control plane's ready pod, whose broker port <paramref name="api"/>'s port-forwards reach at <paramref name="broker"/>.</summary>
    public static void AddControlPlanePod(FakeApiServer api, IPEndPoint broker)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.SetPodBackend(ControlPlane, ControlPlanePod, 18001, broker);
        api.Put(FakeApiServer.Pods, new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject { ["name"] = ControlPlanePod, ["namespace"] = ControlPlane, ["labels"] = new JsonObject { ["app.kubernetes.io/name"] = "xds-control-plane" } },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "server", ["image"] = "xds-control-plane" }) },
            ["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
            },
        });
    }

    /// <summary><c>sandboxctl local connect</c> for the Service <c>cart</c> as workload <c>cart-dev</c> with JSON events, and <paramref name="more"/>.</summary>
    public string[] Args(params string[] more) =>
        ["local", "connect", "--service", "cart", "--name", "cart-dev", "--kubeconfig", Kubeconfig, "-o", "json", .. more];

    /// <summary>Starts an agent with <see cref="Args"/> (stopped at disposal).</summary>
    public LocalAgentProcess Start(params string[] more) => Disposables.Track(LocalAgentProcess.Start(State, Args(more)));

    /// <summary>Runs an agent with <see cref="Args"/> to its end.</summary>
    public Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] more) => LocalAgentProcess.RunAsync(State, Args(more));

    /// <summary>The broker port of the first endpoint of a <c>connected</c> event.</summary>
    public static int BrokerPort(JsonObject connected)
    {
        ArgumentNullException.ThrowIfNull(connected);
        return int.Parse(((string)connected["endpoints"]![0]!["endpoint"]!).Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Stops everything, then fails when the control plane logged a warning the test did not expect.</summary>
    public async ValueTask DisposeAsync()
    {
        await Disposables.DisposeAllAsync();
        await Api.DisposeAsync();
        _cli.Dispose();
        Directory.Delete(State, recursive: true);
        Log.AssertNoUnexpectedWarnings();
    }
}

/// <summary>A test class whose every test gets a fresh <see cref="LocalConnectCluster"/>.</summary>
public abstract class LocalConnectClusterTest
{
    private LocalConnectCluster? _cluster;

    /// <summary>This test's cluster.</summary>
    internal LocalConnectCluster Cluster => _cluster!;

    /// <summary>This test's fake API server.</summary>
    internal FakeApiServer Api => Cluster.Api;

    [SetUp]
    public async Task StartClusterAsync() => _cluster = await LocalConnectCluster.StartAsync();

    [TearDown]
    public async Task StopClusterAsync() => await Cluster.DisposeAsync();
}
