using System.Diagnostics;
using XdsControlPlane.Kubernetes.Admission.Injection;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests.Admission;

/// <summary>
/// src/sandboxctl-init/redirect.sh, run for real: its argument checks, its dry run, and (as root, in a fresh network
/// namespace with a veth interface) the rules iptables-save reads back and where TCP connections land: an
/// application's to any port on the proxy's listener with the original destination intact, the proxy's user's,
/// excluded ports' and loopback's not.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class RedirectScriptTests
{
    private static string Script => RepoDirectory.Path("src", "sandboxctl-init", "redirect.sh");

    [Test]
    public async Task DryRunPrintsTheNatRulesForIPv4AndIPv6(CancellationToken cancellation)
    {
        var run = await RunAsync("sh", [Script, "--dry-run", "-p", "15001", "-u", "1337", "-x", "18000,18100-18199"], cancellation);

        Assert.That(run.ExitCode, Is.Zero, run.Error);
        var rules = run.Output.Split('\n');
        Assert.That(rules, Has.Exactly(2).EqualTo("-A OUTPUT -p tcp -j SANDBOXCTL_OUTPUT"));
        Assert.That(rules, Has.Exactly(2).EqualTo("-A SANDBOXCTL_OUTPUT -m owner --uid-owner 1337 -j RETURN"));
        Assert.That(rules, Has.Exactly(1).EqualTo("-A SANDBOXCTL_OUTPUT -d 127.0.0.0/8 -j RETURN"));
        Assert.That(rules, Has.Exactly(1).EqualTo("-A SANDBOXCTL_OUTPUT -d ::1/128 -j RETURN"));
        Assert.That(rules, Has.Exactly(2).EqualTo("-A SANDBOXCTL_OUTPUT -p tcp -m tcp --dport 18100:18199 -j RETURN"));
        Assert.That(rules, Has.Exactly(2).EqualTo("-A SANDBOXCTL_OUTPUT -p tcp -j REDIRECT --to-ports 15001"));
    }

    [TestCase("-p", "0", "-p (the proxy's port) must be a number from 1 to 65535, got '0'")]
    [TestCase("-p", "65536", "-p (the proxy's port) must be a number from 1 to 65535, got '65536'")]
    [TestCase("-p", "015001", "-p (the proxy's port) must be a number from 1 to 65535")]
    [TestCase("-u", "root", "-u (the proxy's uid) must be a number from 1 to 2147483647, got 'root'")]
    [TestCase("-u", "0", "-u (the proxy's uid) must be a number from 1 to 2147483647, got '0'")]
    [TestCase("-x", "18000,x", "-x port 'x' must be a number")]
    [TestCase("-x", "18199-18100", "-x range '18199-18100' must run from low to high")]
    [TestCase("-x", "1;reboot", "-x port '1;reboot' must be a number")]
    public async Task BadArgumentsAreRefusedNamingTheFlag(string flag, string value, string message)
    {
        var run = await RunAsync("sh", [Script, "--dry-run", flag, value], CancellationToken.None);

        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Error, Does.Contain(message));
        Assert.That(run.Output, Is.Empty, "no rule is printed for bad arguments");
    }

    [Test]
    public async Task TheInjectedInitContainersArgumentsAreAcceptedByTheScript(CancellationToken cancellation)
    {
        var options = new SidecarInjectionOptions { ExcludedOutboundPorts = ["18000", "18001", "18100-18199", "9901"] };
        var init = Containers(options).InitContainer();
        string[] args = [.. init["args"]!.AsArray().Select(a => a!.GetValue<string>())];

        var run = await RunAsync("sh", [Script, "--dry-run", .. args], cancellation);

        Assert.That(run.ExitCode, Is.Zero, run.Error);
        Assert.That(run.Output, Does.Contain("-A SANDBOXCTL_OUTPUT -p tcp -m tcp --dport 18100:18199 -j RETURN"));
        Assert.That(run.Output, Does.Contain("-A SANDBOXCTL_OUTPUT -p tcp -m tcp --dport 9901 -j RETURN"));
        Assert.That(run.Output, Does.Contain("--uid-owner 1337"));
    }

    [Test]
    public async Task OutboundTcpLandsOnTheProxyPortExceptTheProxysOwnExcludedPortsAndLoopback(CancellationToken cancellation)
    {
        if (!OperatingSystem.IsLinux())
        {
            Prerequisite.Missing("skipped: iptables and network namespaces are Linux's");
            return;
        }

        await RequireNetworkNamespaceAsync(cancellation);
        var scratch = Directory.CreateTempSubdirectory("sandboxctl-redirect-");
        try
        {
            File.SetUnixFileMode(scratch.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            var harness = RepoDirectory.Path("tests", "XdsControlPlane.Kubernetes.Tests", "Admission", "Redirect");
            var run = await RunAsync("unshare", ["-n", "sh", Path.Combine(harness, "harness.sh"), Script, Path.Combine(harness, "original_dst_listener.py"), scratch.FullName], cancellation);

            Assert.That(run.ExitCode, Is.Zero, run.Output + run.Error);
            var lines = run.Output.Split('\n');
            var ipv4 = Section(lines, "--- iptables-save");
            var ipv6 = Section(lines, "--- ip6tables-save");
            string[] chain =
            [
                "-A OUTPUT -p tcp -j SANDBOXCTL_OUTPUT",
                "-A SANDBOXCTL_OUTPUT -m owner --uid-owner 1337 -j RETURN",
                "-A SANDBOXCTL_OUTPUT -o lo -j RETURN",
                "-A SANDBOXCTL_OUTPUT -p tcp -m tcp --dport 18000 -j RETURN",
                "-A SANDBOXCTL_OUTPUT -p tcp -m tcp --dport 18100:18199 -j RETURN",
                "-A SANDBOXCTL_OUTPUT -p tcp -j REDIRECT --to-ports 15001",
            ];
            Assert.Multiple(() =>
            {
                // Run twice (a restarted init container): every rule once.
                Assert.That(ipv4.Where(l => l.StartsWith("-A ", StringComparison.Ordinal)), Is.EqualTo(chain.Take(2).Append("-A SANDBOXCTL_OUTPUT -d 127.0.0.0/8 -j RETURN").Concat(chain.Skip(2))));
                Assert.That(ipv6.Where(l => l.StartsWith("-A ", StringComparison.Ordinal)), Is.EqualTo(chain.Take(2).Append("-A SANDBOXCTL_OUTPUT -d ::1/128 -j RETURN").Concat(chain.Skip(2))));
                Assert.That(lines, Does.Contain("CLIENT app-ipv4 connected"));
                Assert.That(lines, Does.Contain("CLIENT app-ipv6 connected"));
                Assert.That(lines, Does.Contain("CLIENT other-uid connected"));
                Assert.That(lines, Does.Contain("CLIENT excluded-port failed"), "an excluded port goes out unredirected (the veth peer drops it)");
                Assert.That(lines, Does.Contain("CLIENT excluded-range failed"));
                Assert.That(lines, Does.Contain("CLIENT proxy-uid failed"), "the proxy's own connections are not redirected back to it");
                Assert.That(lines, Does.Contain("CLIENT loopback failed"), "loopback is not redirected (nothing listens on 127.0.0.1:8080)");

                // The listener saw exactly the redirected connections, with the destination the client dialled.
                Assert.That(lines.Where(l => l.StartsWith("ACCEPTED ", StringComparison.Ordinal)), Is.EquivalentTo(new[] { "ACCEPTED 10.99.0.2 8080", "ACCEPTED fd00:99::2 8080", "ACCEPTED 10.99.0.2 9090" }));
            });
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static SidecarContainers Containers(SidecarInjectionOptions options) => new(options);

    private static string[] Section(string[] lines, string header) =>
        [.. lines.SkipWhile(l => l != header).Skip(1).TakeWhile(l => !l.StartsWith("---", StringComparison.Ordinal))];

    /// <summary>Root, unshare -n, iptables and ip6tables, setpriv, python3 and veth interfaces — else skipped (failed under CI=true).</summary>
    private static async Task RequireNetworkNamespaceAsync(CancellationToken cancellation)
    {
        if (Environment.UserName != "root")
        {
            Prerequisite.Missing("skipped: iptables in a network namespace needs root (the owner match needs the proxy's uid to exist, which a user namespace of one uid lacks)");
        }

        foreach (var tool in new[] { "/usr/bin/python3", "iptables-restore", "ip6tables-restore", "setpriv", "ip" })
        {
            if ((await RunAsync("sh", ["-c", $"command -v {tool}"], cancellation)).ExitCode != 0)
            {
                Prerequisite.Missing($"skipped: {tool} is not installed (apt-get install iptables iproute2 util-linux python3)");
            }
        }

        var probe = await RunAsync("unshare", ["-n", "sh", "-c", "ip link add sbx0 type veth peer name sbx1 && iptables -t nat -S >/dev/null"], cancellation);
        if (probe.ExitCode != 0)
        {
            Prerequisite.Missing($"skipped: a network namespace with a veth pair and iptables cannot be made here: {probe.Error.Trim()}");
        }
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, string[] args, CancellationToken cancellation)
    {
        var start = new ProcessStartInfo(file, args) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync(cancellation);
        var error = process.StandardError.ReadToEndAsync(cancellation);
        try
        {
            await process.WaitForExitAsync(cancellation);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, (await output).Replace("\r", "", StringComparison.Ordinal), await error);
    }
}
