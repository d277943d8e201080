using System.Diagnostics;

namespace Sandboxctl.Tests;

/// <summary>Runs a real process to its end, with its output captured; killed (with its children) past a timeout.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// Runs <paramref name="fileName"/> with <paramref name="args"/> and <paramref name="environment"/> added to (null:
    /// removed from) its environment; the test fails naming the command if it outlives <paramref name="timeout"/>.
    /// </summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string?> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{fileName} {string.Join(' ', start.ArgumentList)} did not end within {timeout}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
