using System.Diagnostics;
using System.Globalization;
using System.Text;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// Manifests-mode faults on files the server already serves from: a file turning unreadable, emptied in the middle of
/// a write, or replaced and rewritten while it is read. The last good objects stay served, the reason is said once (not
/// on every retry), and the server recovers when the file is whole again. Each test prints its figure.
/// </summary>
public sealed partial class HostileManifestTests
{
    [Test]
    public async Task ServedFileTurnsUnreadable_LastGoodKept_ReportedOnce_RecoversWhenReadableAgain()
    {
        if (!Unshare)
        {
            Prerequisite.Missing("skipped: this test runs as root and `unshare -U` is not available, so file permissions cannot be enforced");
        }

        var team = Path.Combine(_directory, "team.yaml");
        File.WriteAllText(team, RouteGroup("team"));
        await using var server = await ServerProcess.StartAsync(["--manifests", _directory], withoutRootPrivileges: true);
        await WaitForAsync(server, () => ServesAsync(server, "team"), "the team RouteGroup");

        // Replaced by an unreadable version (its size and time change, so it is read again and cannot be).
        var staged = Path.Combine(_directory, ".team.yaml.tmp");
        File.WriteAllText(staged, RouteGroup("team", "timeout: 3s"));
        File.SetUnixFileMode(staged, UnixFileMode.None);
        File.Move(staged, team, overwrite: true);
        await WaitForAsync(server, () => Task.FromResult(server.Said("team.yaml") && server.Said("cannot read the file")), "the unreadable file to be reported");

        // Reloads go on (each a retry of the unreadable file): other edits are served, the team RouteGroup stays.
        for (var i = 0; i < 3; i++)
        {
            File.WriteAllText(Path.Combine(_directory, $"later{i}.yaml"), RouteGroup($"later{i}"));
            await WaitForAsync(server, () => ServesAsync(server, $"later{i}"), $"edit {i} while the file is unreadable");
        }

        var servedWhileUnreadable = await ServesAsync(server, "team");
        var reports = Occurrences(server.Output(), "cannot read the file");
        var clock = Stopwatch.StartNew();
        File.SetUnixFileMode(team, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(team, TwoRouteGroups());
        await WaitForAsync(server, () => ServesAsync(server, "team2"), "the file's new contents once it is readable again");
        await TestContext.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"unreadable file: reported {reports} time(s) over 3 reloads; new contents served {clock.Elapsed.TotalSeconds:F1} s after it was readable again"));

        Assert.Multiple(() =>
        {
            Assert.That(servedWhileUnreadable, Is.True, "what the file defined stays in force");
            Assert.That(reports, Is.EqualTo(1), "reported once, not on every reload");
            Assert.That(server.Output(), Does.Not.Contain("   at "), "no stack trace");
            Assert.That(server.Running, Is.True);
        });
    }

    [Test]
    public async Task ServedFileTruncatedToZeroMidWrite_LastGoodKeptUntilItsContentIsBack()
    {
        var team = Path.Combine(_directory, "team.yaml");
        File.WriteAllText(team, RouteGroup("team"));
        await using var server = await ServerProcess.StartAsync(["--manifests", _directory], withoutRootPrivileges: Unshare);
        await WaitForAsync(server, () => ServesAsync(server, "team"), "the team RouteGroup");

        // A writer that truncates, then takes its time: the empty file is seen (a later edit is applied after it).
        using (var writer = new FileStream(team, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite))
        {
            await writer.FlushAsync();
            File.WriteAllText(Path.Combine(_directory, "later.yaml"), RouteGroup("later"));
            await WaitForAsync(server, () => ServesAsync(server, "later"), "an edit made while the file is empty");
            var servedWhileEmpty = await ServesAsync(server, "team");
            Assert.That(servedWhileEmpty, Is.True, "the emptied file's RouteGroup stays in force while it is being written");

            await writer.WriteAsync(Encoding.UTF8.GetBytes(TwoRouteGroups()));
        }

        await WaitForAsync(server, () => ServesAsync(server, "team2"), "the file's contents once written");
        Assert.Multiple(() =>
        {
            Assert.That(Occurrences(server.Output(), "is empty"), Is.EqualTo(1), "said once");
            Assert.That(server.Output(), Does.Not.Contain("   at "), "no stack trace");
        });
    }

    [Test]
    public async Task ServedFileReplacedAndRewrittenWhileRead_NeverUnserved_EndsWithTheLastContents()
    {
        var team = Path.Combine(_directory, "team.yaml");
        File.WriteAllText(team, RouteGroup("team"));
        await using var server = await ServerProcess.StartAsync(["--manifests", _directory], withoutRootPrivileges: Unshare);
        await WaitForAsync(server, () => ServesAsync(server, "team"), "the team RouteGroup");

        // Replaced by rename and rewritten in place in two halves, over and over, while the server reloads and a
        // client keeps checking that the RouteGroup is served.
        using var stop = new CancellationTokenSource();
        var checks = 0;
        var unserved = 0;
        var checking = Task.Run(async () =>
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.AdminPort}"), Timeout = TimeSpan.FromSeconds(10) };
            while (!stop.IsCancellationRequested)
            {
                // Only a snapshot that was read counts (a busy /debug answers 429, which says nothing about routing).
                using var response = await http.GetAsync(new Uri("/debug/snapshot?group=grpc", UriKind.Relative));
                if (response.IsSuccessStatusCode)
                {
                    checks++;
                    unserved += (await response.Content.ReadAsStringAsync()).Contains("RouteGroup/shop/team#0", StringComparison.Ordinal) ? 0 : 1;
                }

                await Task.Delay(50);
            }
        });
        var whole = Encoding.UTF8.GetBytes(TwoRouteGroups());
        for (var round = 0; round < 20; round++)
        {
            var staged = Path.Combine(_directory, ".team.yaml.tmp");
            File.WriteAllText(staged, RouteGroup("team", $"timeout: {round + 1}s"));
            File.Move(staged, team, overwrite: true);
            await Task.Delay(20);
            await using (var torn = new FileStream(team, FileMode.Create, FileAccess.Write, FileShare.ReadWrite))
            {
                await torn.WriteAsync(whole.AsMemory(0, whole.Length / 2));
                await torn.FlushAsync();
                await Task.Delay(20);
                await torn.WriteAsync(whole.AsMemory(whole.Length / 2));
            }
        }

        await stop.CancelAsync();
        await checking;
        await WaitForAsync(server, () => ServesAsync(server, "team2"), "the last contents");
        await TestContext.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"replaced/rewritten 20 times: {checks} checks, {unserved} found the RouteGroup unserved"));

        Assert.Multiple(() =>
        {
            Assert.That(checks, Is.Positive, "the snapshot was read while the file churned (else nothing was checked)");
            Assert.That(unserved, Is.Zero, "the RouteGroup was never withdrawn");
            Assert.That(server.Output(), Does.Not.Contain("   at "), "no stack trace");
            Assert.That(server.Running, Is.True);
        });
    }

    /// <summary>The RouteGroups <c>team</c> and <c>team2</c>, one file.</summary>
    private static string TwoRouteGroups() => RouteGroup("team") + "\n---\n" + RouteGroup("team2") + "\n";
}
