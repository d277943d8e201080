using System.Diagnostics;
using System.Text.Json;
using XdsControlPlane.Docker.Tests.Cluster;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Docker.Tests;

/// <summary>
/// The whole system on a real cluster (K3s in Docker): the chart installed with helm, real Envoy at the gateway and in
/// injected sidecars, the iptables redirect of the init container in a real pod, the Sandbox controller forking a
/// Deployment. What the rest of the suite cannot show without Docker (docs/testing.md). Without a Docker engine every
/// test here is reported skipped with the reason — never passed, and never failed, also under CI=true.
/// </summary>
[TestFixture]
[Category("Docker")]
[NonParallelizable]
public sealed class ClusterTests
{
    private const string CartUrl = "http://cart.shop:8080/";
    private const string Keyed = "x-routing-key: feature-x";
    private static readonly TimeSpan Converge = TimeSpan.FromMinutes(3);
    private KubernetesCluster? _cluster;

    private KubernetesCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster did not start");

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        await DockerEngine.RequireAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(20));
        _cluster = await KubernetesCluster.StartAsync(timeout.Token);
        await Cluster.ApplyAsync(await File.ReadAllTextAsync(RepoDirectory.Path("tests", "XdsControlPlane.Docker.Tests", "Cluster", "shop.yaml")), timeout.Token);
        foreach (var deployment in (string[])["cart", "client", "cart-feature-x"])
        {
            await Eventually.WaitAsync(
                async () => (await Cluster.KubectlAsync(["get", "deployment", "-n", "shop", "--ignore-not-found", "-o", "name", deployment], timeout.Token)).Length > 0,
                () => $"deployment {deployment} exists (cart-feature-x: created by the Sandbox controller)",
                Converge);
            await Cluster.KubectlAsync(["rollout", "status", "-n", "shop", $"deployment/{deployment}", "--timeout=5m"], timeout.Token);
        }
    }

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [Test]
    public async Task InjectedPod_RunsEnvoyAsANativeSidecarAfterTheRedirectInitContainer()
    {
        using var pods = JsonDocument.Parse(await Cluster.KubectlAsync(["get", "pods", "-n", "shop", "-l", "app=client", "-o", "json"], CancellationToken.None));
        var spec = pods.RootElement.GetProperty("items")[0].GetProperty("spec");
        var initContainers = spec.GetProperty("initContainers").EnumerateArray().ToList();

        var sidecar = initContainers.FindIndex(c => c.TryGetProperty("restartPolicy", out var policy) && policy.GetString() == "Always");
        var redirect = initContainers.FindIndex(c => c.GetProperty("image").GetString()!.Contains("sandboxctl-init", StringComparison.Ordinal));
        Assert.That(sidecar, Is.GreaterThanOrEqualTo(0), "Envoy is an init container with restartPolicy Always (Kubernetes 1.33)");
        Assert.That(initContainers[sidecar].GetProperty("image").GetString(), Does.Contain("envoy"));
        Assert.That(redirect, Is.GreaterThanOrEqualTo(0).And.LessThan(sidecar), "the iptables init container runs before the sidecar starts");
    }

    [Test]
    public async Task KeyedRequestsThroughTheSidecar_ReachTheFork_OthersTheBaseline()
    {
        await EventuallyAnswersAsync(CartUrl, [Keyed], "fork 200");
        await EventuallyAnswersAsync(CartUrl, [], "baseline 200");
        await EventuallyAnswersAsync(CartUrl, ["baggage: routing-key=feature-x,other=1"], "fork 200");
    }

    [Test]
    public async Task KeyedRequestsThroughTheGateway_ReachTheFork_OthersTheBaseline()
    {
        var gateway = await GatewayUrlAsync();

        await EventuallyAnswersAsync(gateway, [Keyed, "Host: cart.shop:8080"], "fork 200");
        await EventuallyAnswersAsync(gateway, ["Host: cart.shop:8080"], "baseline 200");
        await EventuallyAnswersAsync($"{gateway}?routing-key=feature-x", ["Host: cart.shop:8080"], "fork 200");
    }

    [Test]
    public async Task RouteGroupEdit_ReRoutesKeyedRequests()
    {
        const string routeGroup = """
            apiVersion: sandboxctl.io/v1alpha1
            kind: RouteGroup
            metadata: {name: cart-beta, namespace: shop}
            spec:
              routingKey: beta
              routes:
              - service: cart
                port: 8080
                to: [{service: TARGET}]
            """;
        string[] beta = ["x-routing-key: beta"];
        await EventuallyAnswersAsync(CartUrl, beta, "baseline 200");

        await Cluster.ApplyAsync(routeGroup.Replace("TARGET", "cart-feature-x", StringComparison.Ordinal), CancellationToken.None);
        await EventuallyAnswersAsync(CartUrl, beta, "fork 200");

        await Cluster.ApplyAsync(routeGroup.Replace("TARGET", "cart", StringComparison.Ordinal), CancellationToken.None);
        await EventuallyAnswersAsync(CartUrl, beta, "baseline 200");
        await Cluster.KubectlAsync(["delete", "routegroup", "-n", "shop", "cart-beta"], CancellationToken.None);
    }

    [Test]
    public async Task ControlPlanePodDeletedUnderLoad_NoRequestIsLost()
    {
        await EventuallyAnswersAsync(CartUrl, [Keyed], "fork 200");
        var codes = $"/tmp/codes-{Guid.NewGuid():N}";
        // Requests one after the other until told to stop, each answer on a line, in the client pod.
        var load = Cluster.KubectlAsync(
            ["exec", "-n", "shop", "deploy/client", "-c", "client", "--", "sh", "-c",
             $"rm -f /tmp/stop; while [ ! -f /tmp/stop ]; do curl -s -m 5 -w ' %{{http_code}}\\n' -H '{Keyed}' {CartUrl} >> {codes}; done"],
            CancellationToken.None);
        await WaitForAnswersAsync(codes, 20);

        var pods = (await Cluster.KubectlAsync(["get", "pods", "-n", KubernetesCluster.ReleaseNamespace, "-l", "app.kubernetes.io/name=xds-control-plane", "-o", "name"], CancellationToken.None))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(pod => !pod.Contains("gateway", StringComparison.Ordinal))
            .ToList();
        Assert.That(pods, Has.Count.GreaterThanOrEqualTo(2), "the chart runs two replicas");
        await Cluster.KubectlAsync(["delete", "-n", KubernetesCluster.ReleaseNamespace, pods[0]], CancellationToken.None);
        await Cluster.KubectlAsync(["rollout", "status", "-n", KubernetesCluster.ReleaseNamespace, "deployment/xds-control-plane", "--timeout=5m"], CancellationToken.None);
        var before = await AnswerCountAsync(codes);
        await WaitForAnswersAsync(codes, before + 20);

        await Cluster.KubectlAsync(["exec", "-n", "shop", "deploy/client", "-c", "client", "--", "touch", "/tmp/stop"], CancellationToken.None);
        await load.WaitAsync(TimeSpan.FromMinutes(1));
        var answers = (await Cluster.KubectlAsync(["exec", "-n", "shop", "deploy/client", "-c", "client", "--", "cat", codes], CancellationToken.None))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(answers, Has.All.EqualTo("fork 200"), $"{answers.Length} requests while {pods[0]} was deleted and replaced");
    }

    [Test]
    public async Task LocalConnectThroughTheApiServer_KeyedRequestsReachTheLaptop()
    {
        await using var laptop = new LaptopService();
        var kubeconfig = await Cluster.WriteKubeconfigAsync(CancellationToken.None);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "sandboxctl.dll"), "local", "connect", "-n", "shop", "--sandbox", "feature-x", "--service", "cart", "--port", laptop.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["KUBECONFIG"] = kubeconfig;
        using var agent = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        agent.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        agent.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        agent.BeginOutputReadLine();
        agent.BeginErrorReadLine();
        try
        {
            await EventuallyAnswersAsync(CartUrl, [Keyed], "laptop 200");
            await EventuallyAnswersAsync(CartUrl, [], "baseline 200");
        }
        finally
        {
            agent.Kill(entireProcessTree: true);
            await agent.WaitForExitAsync();
            File.Delete(kubeconfig);
            TestContext.Out.WriteLine(output.ToString());
        }

        await EventuallyAnswersAsync(CartUrl, [Keyed], "fork 200");
    }

    private async Task EventuallyAnswersAsync(string url, string[] headers, string expected)
    {
        var last = "";
        await Eventually.WaitAsync(
            async () => (last = await Cluster.CurlFromClientAsync(url, headers, CancellationToken.None)) == expected,
            () => $"{url} with [{string.Join("; ", headers)}] answers '{expected}' (last: '{last}')",
            Converge);
    }

    private async Task<string> GatewayUrlAsync()
    {
        var services = await Cluster.KubectlAsync(
            ["get", "services", "-n", KubernetesCluster.ReleaseNamespace, "-o", "jsonpath={range .items[*]}{.metadata.name} {.spec.ports[0].port}{\"\\n\"}{end}"],
            CancellationToken.None);
        var gateway = services.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' ')).SingleOrDefault(s => s[0].Contains("gateway", StringComparison.Ordinal));
        Assert.That(gateway, Is.Not.Null, $"the chart installs a gateway Service; services: {services}");
        return $"http://{gateway![0]}.{KubernetesCluster.ReleaseNamespace}:{gateway[1]}/";
    }

    private async Task<int> AnswerCountAsync(string file)
    {
        var count = await Cluster.KubectlAsync(["exec", "-n", "shop", "deploy/client", "-c", "client", "--", "sh", "-c", $"cat {file} 2>/dev/null | wc -l"], CancellationToken.None);
        return int.Parse(count.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private Task WaitForAnswersAsync(string file, int atLeast) =>
        Eventually.WaitAsync(async () => await AnswerCountAsync(file) >= atLeast, () => $"{atLeast} requests answered", Converge);
}
