using System.Text.Json.Nodes;
using Sandboxctl.Previews;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>When <c>preview open</c> starts a browser, and that a real process on a terminal does (through <c>BROWSER</c>).</summary>
public sealed class PreviewBrowserTests
{
    [TestCase(true, true, "firefox", null, null, null, "--no-browser")]
    [TestCase(false, true, "firefox", "true", null, null, "CI is set")]
    [TestCase(false, false, "firefox", null, null, null, "stdout is not a terminal")]
    [TestCase(false, true, "firefox:chromium", null, null, "firefox", null)]
    [TestCase(false, true, null, "false", ":0", "xdg-open", null)]
    [TestCase(false, true, null, null, null, null, "no display (DISPLAY, WAYLAND_DISPLAY) and no BROWSER")]
    public void Decide_FollowsTheFlagCiTerminalAndEnvironment(bool noBrowser, bool terminal, string? browser, string? ci, string? display, string? program, string? reason)
    {
        var environment = new Dictionary<string, string?> { ["BROWSER"] = browser, ["CI"] = ci, ["DISPLAY"] = display };

        var choice = BrowserLauncher.Decide(noBrowser, terminal, name => environment.GetValueOrDefault(name), isMacOs: false, onPath: p => p == "xdg-open");

        Assert.That(choice, Is.EqualTo(new BrowserChoice(program, reason)));
    }

    [Test]
    public void Decide_MacOs_UsesOpen() =>
        Assert.That(BrowserLauncher.Decide(false, true, _ => null, isMacOs: true, onPath: _ => false).Program, Is.EqualTo("open"));

    [Test]
    public async Task RealProcessOnATerminal_OpensTheLinkWithBrowser()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/script"))
        {
            Prerequisite.Missing("util-linux script(1) gives the process a terminal (Linux only)");
            return;
        }

        await using var api = await FakeApiServer.StartAsync();
        using var cli = new CliHarness();
        api.Put(FakeApiServer.Sandboxes, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "Sandbox",
            ["metadata"] = new JsonObject { ["name"] = "feature-x", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["previews"] = new JsonArray(new JsonObject { ["service"] = "cart", ["port"] = 8080, ["access"] = "shared" }) },
            ["status"] = new JsonObject { ["previews"] = new JsonArray(new JsonObject { ["service"] = "cart", ["port"] = 8080, ["access"] = "shared", ["url"] = "https://cart-8080-abcdefghij.preview.example.com/" }) },
        });
        var opened = cli.Write("opened.txt", "");
        File.Delete(opened);
        var browser = cli.Write("browser.sh", $"#!/bin/sh\nprintf '%s' \"$1\" > {opened}.tmp && mv {opened}.tmp {opened}\n");
        File.SetUnixFileMode(browser, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var command = $"dotnet {Path.Combine(AppContext.BaseDirectory, "sandboxctl.dll")} preview open feature-x --no-color --kubeconfig {cli.Kubeconfig(api.Url)}";

        var (code, stdout, stderr) = await ChildProcess.RunAsync("script", ["-qec", command, "/dev/null"], new Dictionary<string, string?> { ["BROWSER"] = browser, ["CI"] = null }, TimeSpan.FromSeconds(30));
        await Eventually.WaitAsync(() => File.Exists(opened), "the browser was started with the link");

        var grant = api.List(FakeApiServer.PreviewGrants, "shop").Single();
        var link = await File.ReadAllTextAsync(opened);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stdout + stderr);
            Assert.That(link, Does.StartWith("https://cart-8080-abcdefghij.preview.example.com/?token=sbxp_"));
            Assert.That((string?)grant["spec"]!["secretHash"], Is.EqualTo(XdsControlPlane.Model.PreviewToken.Hash(link[(link.IndexOf('=', StringComparison.Ordinal) + 1)..])));
            Assert.That(stdout, Does.Contain("Opened it in your browser"));
        });
    }
}
