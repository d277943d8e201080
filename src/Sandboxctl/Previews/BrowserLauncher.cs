using System.ComponentModel;
using System.Diagnostics;

namespace Sandboxctl.Previews;

/// <summary>How to open a URL in a browser, or why not.</summary>
/// <param name="Program">The program to run with the URL as its one argument, or null.</param>
/// <param name="Reason">Why no browser is opened (when <paramref name="Program"/> is null).</param>
internal sealed record BrowserChoice(string? Program, string? Reason);

/// <summary>
/// Opens a preview link in the user's browser when there is one to open: never with <c>--no-browser</c>, in CI
/// (<c>CI</c> set), or when stdout is not a terminal (a script or pipe reads the link); else <c>BROWSER</c>, or
/// <c>open</c> on macOS, or <c>xdg-open</c> on a Linux desktop (a display). The program gets the URL as one argument,
/// never through a shell.
/// </summary>
internal static class BrowserLauncher
{
    /// <summary>The decision, from the facts given (pure).</summary>
    public static BrowserChoice Decide(bool noBrowser, bool stdoutIsTerminal, Func<string, string?> environment, bool isMacOs, Func<string, bool> onPath)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(onPath);
        if (noBrowser)
        {
            return new(null, "--no-browser");
        }

        if (environment("CI") is { Length: > 0 } ci && !string.Equals(ci, "false", StringComparison.OrdinalIgnoreCase) && ci != "0")
        {
            return new(null, "CI is set");
        }

        if (!stdoutIsTerminal)
        {
            return new(null, "stdout is not a terminal");
        }

        // BROWSER may list several programs, as for Python's webbrowser: the first one is used.
        if (environment("BROWSER") is { Length: > 0 } browser && browser.Split(Path.PathSeparator)[0].Trim() is { Length: > 0 } first)
        {
            return new(first, null);
        }

        if (isMacOs)
        {
            return new("open", null);
        }

        if (environment("DISPLAY") is not { Length: > 0 } && environment("WAYLAND_DISPLAY") is not { Length: > 0 })
        {
            return new(null, "no display (DISPLAY, WAYLAND_DISPLAY) and no BROWSER");
        }

        return onPath("xdg-open") ? new("xdg-open", null) : new(null, "xdg-open is not installed and BROWSER is not set");
    }

    /// <summary>The decision for this process.</summary>
    public static BrowserChoice DecideHere(bool noBrowser, bool stdoutIsTerminal) =>
        Decide(noBrowser, stdoutIsTerminal, Environment.GetEnvironmentVariable, OperatingSystem.IsMacOS(), OnPath);

    /// <summary>Starts <paramref name="program"/> with <paramref name="url"/> and does not wait for it; returns why it failed, or null.</summary>
    public static string? Open(string program, string url)
    {
        try
        {
            var start = new ProcessStartInfo(program)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = false,
                RedirectStandardError = false,
            };
            start.ArgumentList.Add(url);
            using var process = Process.Start(start);
            return process is null ? $"{program} did not start" : null;
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException or IOException)
        {
            return $"{program}: {e.Message}";
        }
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, program)));
}
