using System.Globalization;
using System.Text;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Networks;
using Testcontainers.K3s;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Docker.Tests.Cluster;

/// <summary>
/// A K3s cluster in Docker with the chart installed as a platform engineer would: the control-plane and sidecar-init
/// images built from the repository's Dockerfiles and loaded into K3s's containerd under the chart's default names (so
/// no image value is overridden), then <c>helm upgrade --install --wait</c> from a helm container on the same Docker
/// network (no helm binary is needed on the test machine). kubectl runs inside the K3s container.
/// </summary>
internal sealed class KubernetesCluster : IAsyncDisposable
{
    /// <summary>Kubernetes 1.33: native sidecars (init containers with restartPolicy Always) are on by default.</summary>
    public const string K3sImage = "rancher/k3s:v1.33.4-k3s1";

    /// <summary>Helm 3, run as a container.</summary>
    public const string HelmImage = "alpine/helm:3.18.4";

    /// <summary>The namespace the chart is installed in.</summary>
    public const string ReleaseNamespace = "sandboxctl-system";

    private const string NetworkAlias = "k3s";
    private readonly INetwork _network;
    private readonly K3sContainer _k3s;
    private int _applied;

    private KubernetesCluster(INetwork network, K3sContainer k3s)
    {
        _network = network;
        _k3s = k3s;
    }

    /// <summary>Starts K3s, builds and loads the images, installs the chart and waits for it to be ready.</summary>
    public static async Task<KubernetesCluster> StartAsync(CancellationToken cancellationToken)
    {
        var network = new NetworkBuilder().Build();
        await network.CreateAsync(cancellationToken);
        var k3s = new K3sBuilder(K3sImage).WithNetwork(network).WithNetworkAliases(NetworkAlias).Build();
        var cluster = new KubernetesCluster(network, k3s);
        try
        {
            await k3s.StartAsync(cancellationToken);
            var (prefix, tag) = ChartImageDefaults();
            await cluster.BuildAndLoadAsync("src/XdsControlPlane.Server/Dockerfile", ".", $"{prefix}xds-control-plane:{tag}", cancellationToken);
            await cluster.BuildAndLoadAsync("src/sandboxctl-init/Dockerfile", "src/sandboxctl-init", $"{prefix}sandboxctl-init:{tag}", cancellationToken);
            await cluster.HelmInstallAsync(cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs kubectl in the cluster; fails the test with its output on a non-zero exit.</summary>
    public async Task<string> KubectlAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var result = await _k3s.ExecAsync(["kubectl", .. args], cancellationToken);
        if (result.ExitCode != 0)
        {
            Assert.Fail($"kubectl {string.Join(' ', args)} exited {result.ExitCode}: {result.Stderr}{result.Stdout}");
        }

        return result.Stdout;
    }

    /// <summary>Applies <paramref name="yaml"/> (kubectl apply -f).</summary>
    public async Task ApplyAsync(string yaml, CancellationToken cancellationToken)
    {
        var path = string.Create(CultureInfo.InvariantCulture, $"/tmp/apply-{Interlocked.Increment(ref _applied)}.yaml");
        await _k3s.CopyAsync(Encoding.UTF8.GetBytes(yaml), path, ct: cancellationToken);
        await KubectlAsync(["apply", "-f", path], cancellationToken);
    }

    /// <summary>
    /// Sends one HTTP request from the client pod of namespace shop (through its injected sidecar) and answers
    /// "body status" (e.g. <c>fork 200</c>), or the error curl printed.
    /// </summary>
    public async Task<string> CurlFromClientAsync(string url, IEnumerable<string> headers, CancellationToken cancellationToken)
    {
        var result = await _k3s.ExecAsync(
            ["kubectl", "exec", "-n", "shop", "deploy/client", "-c", "client", "--", "curl", "-s", "-m", "5", "-w", " %{http_code}", .. headers.SelectMany(h => new[] { "-H", h }), url],
            cancellationToken);
        return (result.ExitCode == 0 ? result.Stdout : $"curl failed ({result.ExitCode}): {result.Stderr}").Trim();
    }

    /// <summary>A kubeconfig for the test machine (the API server through its mapped port), written to a temporary file.</summary>
    public async Task<string> WriteKubeconfigAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), $"xdscp-k3s-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, await _k3s.GetKubeconfigAsync(), cancellationToken);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await _k3s.DisposeAsync();
        await _network.DisposeAsync();
    }

    // The chart's default image repository prefix and tag (values.yaml image.repository, Chart.yaml appVersion).
    private static (string Prefix, string Tag) ChartImageDefaults()
    {
        var chart = RepoDirectory.Path("charts", "xds-control-plane");
        var repository = Scalar(Path.Combine(chart, "values.yaml"), "  repository:");
        var tag = Scalar(Path.Combine(chart, "Chart.yaml"), "appVersion:");
        return (repository[..(repository.LastIndexOf('/') + 1)], tag);

        static string Scalar(string file, string key) =>
            File.ReadLines(file).First(line => line.StartsWith(key, StringComparison.Ordinal))[key.Length..].Trim().Trim('"');
    }

    private async Task BuildAndLoadAsync(string dockerfile, string context, string name, CancellationToken cancellationToken)
    {
        Assert.That(File.Exists(RepoDirectory.Path(dockerfile)), Is.True, $"{dockerfile} exists");
        await DockerCli.RunAsync(["build", "--file", RepoDirectory.Path(dockerfile), "--tag", name, RepoDirectory.Path(context)], cancellationToken);
        var archive = Path.Combine(Path.GetTempPath(), $"xdscp-image-{Guid.NewGuid():N}.tar");
        try
        {
            await DockerCli.RunAsync(["save", "--output", archive, name], cancellationToken);
            await _k3s.CopyAsync(await File.ReadAllBytesAsync(archive, cancellationToken), "/tmp/image.tar", ct: cancellationToken);
        }
        finally
        {
            File.Delete(archive);
        }

        var imported = await _k3s.ExecAsync(["ctr", "-n", "k8s.io", "images", "import", "/tmp/image.tar"], cancellationToken);
        Assert.That(imported.ExitCode, Is.Zero, $"ctr images import {name}: {imported.Stderr}");
    }

    private async Task HelmInstallAsync(CancellationToken cancellationToken)
    {
        // Inside the Docker network the API server is k3s:6443; its serving certificate does not name that alias.
        var kubeconfig = (await _k3s.ExecAsync(["cat", "/etc/rancher/k3s/k3s.yaml"], cancellationToken)).Stdout
            .Replace("https://127.0.0.1:6443", $"https://{NetworkAlias}:6443", StringComparison.Ordinal);
        await using var helm = new ContainerBuilder(HelmImage)
            .WithNetwork(_network)
            .WithEntrypoint("sleep")
            .WithCommand("infinity")
            .Build();
        await helm.StartAsync(cancellationToken);
        await helm.CopyAsync(Encoding.UTF8.GetBytes(kubeconfig), "/root/.kube/config", ct: cancellationToken);
        await helm.CopyAsync(new DirectoryInfo(RepoDirectory.Path("charts", "xds-control-plane")), "/charts", ct: cancellationToken);
        var install = await helm.ExecAsync(
            ["helm", "upgrade", "--install", "xds", "/charts/xds-control-plane", "--namespace", ReleaseNamespace, "--create-namespace",
             "--wait", "--timeout", "5m", "--kube-insecure-skip-tls-verify"],
            cancellationToken);
        Assert.That(install.ExitCode, Is.Zero, $"helm upgrade --install: {install.Stderr}{install.Stdout}");
    }
}
