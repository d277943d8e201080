using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// Runs sandboxctl in-process or as a real process, with a temporary directory for manifests and a kubeconfig
/// (context namespace <c>shop</c>) pointing at a server such as the fake API server.
/// </summary>
internal sealed class CliHarness : IDisposable
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(30);

    private readonly string _directory = Directory.CreateTempSubdirectory("sandboxctl-").FullName;

    /// <summary>A kubeconfig added to every <see cref="RunAsync(string[])"/> without <c>--kubeconfig</c>.</summary>
    public string? DefaultKubeconfig { get; set; }

    /// <summary>Runs sandboxctl in-process.</summary>
    public async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        string[] withConfig = DefaultKubeconfig is null || args.Contains("--kubeconfig") ? args : [.. args, "--kubeconfig", DefaultKubeconfig];
        return await RunInProcessAsync(withConfig);
    }

    /// <summary>Runs sandboxctl in-process with exactly <paramref name="args"/>.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunInProcessAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await SandboxctlCommandLine.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs <c>dotnet sandboxctl.dll</c> as a real process (killed after 30 s).</summary>
    public static Task<(int Code, string Stdout, string Stderr)> RunProcessAsync(params string[] args) => RunProcessAsync(new Dictionary<string, string?>(), args);

    /// <summary>Runs <c>dotnet sandboxctl.dll</c> as a real process with <paramref name="environment"/> added to (null: removed from) its environment.</summary>
    public static Task<(int Code, string Stdout, string Stderr)> RunProcessAsync(IReadOnlyDictionary<string, string?> environment, params string[] args) =>
        ChildProcess.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "sandboxctl.dll"), .. args], environment, ProcessTimeout);

    /// <summary>Writes a file into the temporary directory and returns its path.</summary>
    public string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>
    /// The two files of a <c>KUBECONFIG</c> list for <paramref name="server"/>: the first defines the cluster, user and
    /// context <c>fake</c> but no current context; the second sets <c>current-context: fake</c> and also defines a
    /// cluster <c>fake</c> at an unreachable address, which the first file's definition must win over.
    /// </summary>
    public (string First, string Second) SplitKubeconfig(Uri server) => (
        Write($"kubeconfig-a-{server.Port}", FakeApiServer.KubeconfigYaml(server.ToString(), currentContext: null)),
        Write($"kubeconfig-b-{server.Port}", FakeApiServer.CurrentContextOnlyYaml));

    /// <summary>An empty directory to stand in for the home directory (so <c>~/.kube/config</c> does not exist).</summary>
    public string EmptyHome() => Directory.CreateDirectory(Path.Combine(_directory, "home")).FullName;

    /// <summary>A kubeconfig whose current context points at <paramref name="server"/> with namespace <c>shop</c>.</summary>
    public string Kubeconfig(Uri server) => Write($"kubeconfig-{server.Port}", FakeApiServer.KubeconfigYaml(server.ToString()));

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
