using System.Diagnostics;

namespace XdsControlPlane.TunnelBench;

/// <summary>A child process the benchmark runs (iperf3, sshd, ssh), killed with its children when disposed.</summary>
internal sealed class ExternalProcess : IDisposable
{
    private readonly Process _process;

    private ExternalProcess(Process process) => _process = process;

    /// <summary>Whether it has exited (and how, as text), else null.</summary>
    public string? Exit => _process.HasExited ? $"{_process.StartInfo.FileName} exited with code {_process.ExitCode}" : null;

    /// <summary>Starts <paramref name="file"/> with <paramref name="args"/>; its output is discarded.</summary>
    public static ExternalProcess Start(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ExternalProcess(process);
    }

    /// <summary>Runs <paramref name="file"/> to its end; returns its standard output, throws with its standard error when it fails (unless <paramref name="allowFailure"/>).</summary>
    public static async Task<string> RunAsync(string file, string[] args, CancellationToken cancellationToken, bool allowFailure = false)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0 && !allowFailure)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with code {process.ExitCode}: {await error}{await output}");
        }

        return await output;
    }

    /// <summary>Whether <paramref name="file"/> can be found (an absolute path, or on PATH).</summary>
    public static string? Find(string file) =>
        Path.IsPathRooted(file)
            ? (File.Exists(file) ? file : null)
            : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, file)).FirstOrDefault(File.Exists);

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Gone already.
        }

        _process.Dispose();
    }
}
