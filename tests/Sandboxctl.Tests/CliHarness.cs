using System.Diagnostics;

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
    public static async Task<(int Code, string Stdout, string Stderr)> RunProcessAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sandboxctl.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(ProcessTimeout);
        await process.WaitForExitAsync(cancel.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Writes a file into the temporary directory and returns its path.</summary>
    public string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A kubeconfig whose current context points at <paramref name="server"/> with namespace <c>shop</c>.</summary>
    public string Kubeconfig(Uri server) => Write($"kubeconfig-{server.Port}", $$"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster: {server: {{server.ToString().TrimEnd('/')}}}
        users:
        - name: dev
          user: {token: not-checked}
        contexts:
        - name: fake
          context: {cluster: fake, user: dev, namespace: shop}
        current-context: fake
        """);

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
