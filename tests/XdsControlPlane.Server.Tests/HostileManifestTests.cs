using System.Diagnostics;
using System.Globalization;
using System.Text;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The server as a real process on a manifest directory that holds, beside good objects, input written to break it:
/// parser crashes, nesting, alias bombs, durations past every limit, oversized files, symlink loops, unreadable files
/// and directories. Present at start or added while running, each is reported with its file, the good objects keep
/// being served, later edits are still picked up, and memory stays bounded (the peak is printed). Where root could
/// read anything, the server runs in a user namespace (<c>unshare -U</c>) so file permissions apply.
/// </summary>
[Category("HostileInput")]
[NonParallelizable]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class HostileManifestTests
{
    private const double MemoryLimitMib = 600;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly bool Unshare = CanUnshare();
    private string _directory = "";

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-hostile-").FullName;
        File.WriteAllText(Path.Combine(_directory, "good.yaml"), Good);
    }

    [TearDown]
    public void DeleteDirectory()
    {
        // Links are neither followed nor changed (some samples loop back up the tree).
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var entry in Directory.EnumerateFileSystemEntries(_directory, "*", options))
        {
            File.SetUnixFileMode(entry, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        Directory.Delete(_directory, recursive: true);
    }

    public static IEnumerable<TestCaseData> Samples() =>
        HostileSample.All.Select(s => new TestCaseData(s).SetArgDisplayNames(s.Name));

    [TestCaseSource(nameof(Samples))]
    public async Task PresentAtStart_ReportedAndTheGoodObjectsServed(HostileSample sample)
    {
        if (sample.NeedsPermissions && !Unshare)
        {
            Prerequisite.Missing("skipped: this test runs as root and `unshare -U` is not available, so file permissions cannot be enforced");
        }

        sample.Create(_directory);
        await using var server = await ServerProcess.StartAsync(["--manifests", _directory], withoutRootPrivileges: Unshare);

        await AssertServesAndReportsAsync(server, sample);
    }

    [TestCaseSource(nameof(Samples))]
    public async Task AddedWhileRunning_ReportedAndTheGoodObjectsServed(HostileSample sample)
    {
        if (sample.NeedsPermissions && !Unshare)
        {
            Prerequisite.Missing("skipped: this test runs as root and `unshare -U` is not available, so file permissions cannot be enforced");
        }

        await using var server = await ServerProcess.StartAsync(["--manifests", _directory], withoutRootPrivileges: Unshare);
        await WaitForAsync(server, () => ServesAsync(server, "good"), "the good RouteGroup");

        sample.Create(_directory);

        await AssertServesAndReportsAsync(server, sample);
    }

    /// <summary>Files read before from a directory that turns unreadable keep their objects, as an unreadable file does.</summary>
    [Test]
    public async Task DirectoryTurnsUnreadable_ItsObjectsStayAndItIsReported()
    {
        if (!Unshare)
        {
            Prerequisite.Missing("skipped: this test runs as root and `unshare -U` is not available, so file permissions cannot be enforced");
        }

        var locked = Directory.CreateDirectory(Path.Combine(_directory, "team")).FullName;
        File.WriteAllText(Path.Combine(locked, "inside.yaml"), RouteGroup("inside"));
        await using var server = await ServerProcess.StartAsync(["--manifests", _directory], withoutRootPrivileges: true);
        await WaitForAsync(server, () => ServesAsync(server, "inside"), "the RouteGroup in the subdirectory");

        File.SetUnixFileMode(locked, UnixFileMode.None);
        await WaitForAsync(server, () => Task.FromResult(server.Said("cannot read the directory team")), "the unreadable directory to be reported");

        Assert.Multiple(async () =>
        {
            Assert.That(await ServesAsync(server, "inside"), Is.True, "its objects stay in force");
            Assert.That(server.Said("team/inside.yaml"), Is.True, "the problem names the file");
            Assert.That(server.Running, Is.True);
        });
    }

    [Test]
    public async Task DirectoryDeletedAndRecreated_ServingContinuesAndEditsArePickedUpAgain()
    {
        await using var server = await ServerProcess.StartAsync(["--manifests", _directory], withoutRootPrivileges: Unshare);
        await WaitForAsync(server, () => ServesAsync(server, "good"), "the good RouteGroup");

        Directory.Delete(_directory, recursive: true);
        await WaitForAsync(server, () => Task.FromResult(server.Said("does not exist any more")), "the missing directory to be reported");
        var servedWhileGone = await ServesAsync(server, "good");
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "good.yaml"), Good);
        await WaitForAsync(server, () => Task.FromResult(server.Said("is back")), "the directory to be noticed again");
        File.WriteAllText(Path.Combine(_directory, "later.yaml"), RouteGroup("later"));
        await WaitForAsync(server, () => ServesAsync(server, "later"), "an edit after the directory came back");

        Assert.Multiple(() =>
        {
            Assert.That(servedWhileGone, Is.True, "the last good snapshot is served while the directory is gone");
            Assert.That(server.Running, Is.True);
            Assert.That(Occurrences(server.Output(), "does not exist any more"), Is.EqualTo(1), "reported once, not on every poll");
            Assert.That(server.Output(), Does.Not.Contain("   at "), "no stack trace");
        });
    }

    [Test]
    public async Task PortInUse_ExitsNonZeroInOneSentence()
    {
        using var busy = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        var port = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "XdsControlPlane.Server.dll"), "--loopback", "--xds-port", port.ToString(CultureInfo.InvariantCulture), "--admin-port", "0", "--tunnel-port", "0", "--webhook-port", "0" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Multiple(async () =>
        {
            Assert.That(process.ExitCode, Is.EqualTo(2));
            Assert.That(await stderr, Does.Contain("cannot listen"));
        });
    }

    private async Task AssertServesAndReportsAsync(ServerProcess server, HostileSample sample)
    {
        await WaitForAsync(server, () => Task.FromResult(sample.Expected.All(server.Said)), $"the server to report {string.Join(" and ", sample.Expected.Select(e => $"'{e}'"))}");
        var servesGood = await ServesAsync(server, "good");

        // The server keeps reloading: a later edit is picked up (a hung reload would never get there).
        File.WriteAllText(Path.Combine(_directory, "later.yaml"), RouteGroup("later"));
        await WaitForAsync(server, () => ServesAsync(server, "later"), "an edit made after the hostile input");
        var peak = server.PeakMemoryMib();
        TestContext.Out.WriteLine($"{sample.Name}: peak RSS {peak?.ToString("F0", CultureInfo.InvariantCulture) ?? "?"} MiB");

        Assert.Multiple(() =>
        {
            Assert.That(servesGood, Is.True, "the good RouteGroup is still served");
            Assert.That(server.Running, Is.True, server.Output());
            Assert.That(peak, Is.Null.Or.LessThan(MemoryLimitMib), "memory stays bounded");
            Assert.That(server.Output(), Does.Not.Contain("   at "), "no stack trace in the log");
            Assert.That(server.Output(), Does.Not.Contain("BackgroundService failed"));
            Assert.That(server.Output(), Does.Not.Contain("defined again"), "no file was read twice");
        });
    }

    /// <summary>Whether the gRPC group's snapshot routes the RouteGroup <paramref name="name"/>.</summary>
    private static async Task<bool> ServesAsync(ServerProcess server, string name)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.AdminPort}"), Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            return (await http.GetStringAsync(new Uri("/debug/snapshot?group=grpc", UriKind.Relative))).Contains($"RouteGroup/shop/{name}#0", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static async Task WaitForAsync(ServerProcess server, Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Timeout || !server.Running)
            {
                Assert.Fail($"{(server.Running ? "timed out" : "the server exited")} waiting for {what}; output:\n{server.Output()}");
            }

            await Task.Delay(50);
        }
    }

    private static int Occurrences(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static bool CanUnshare()
    {
        if (Environment.UserName != "root")
        {
            return false;
        }

        try
        {
            using var probe = Process.Start(new ProcessStartInfo("unshare", ["-U", "true"]) { UseShellExecute = false, RedirectStandardError = true })!;
            probe.WaitForExit();
            return probe.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private const string Good = """
        apiVersion: v1
        kind: Service
        metadata: {name: cart, namespace: shop}
        spec:
          ports: [{name: grpc, port: 8080}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cart-v2, namespace: shop}
        spec:
          ports: [{name: grpc, port: 8080}]
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: good, namespace: shop}
        spec:
          routes:
          - service: cart
            to: [{service: cart-v2}]
        """;

    private static string RouteGroup(string name, string extra = "") => $$"""
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: {{name}}, namespace: shop}
        spec:
          routes:
          - service: cart
            to: [{service: cart-v2}]
            {{extra}}
        """;

    /// <summary>One kind of hostile input: how to put it in the directory, and what the server must say about it.</summary>
    public sealed record HostileSample(string Name, Action<string> Create, string[] Expected, bool NeedsPermissions = false)
    {
        public static IReadOnlyList<HostileSample> All { get; } =
        [
            new("unclosed flow mapping", d => Write(d, "flow.yaml", "a: {b: c\nd: e\n"), ["flow.yaml", "not valid YAML"]),
            new("nesting past the limit in an ignored field", d => Write(d, "deep.yaml", $"apiVersion: v1\nkind: Service\nmetadata: {{name: deep, namespace: shop}}\nspec:\n  ports: [{{port: 80}}]\n  ignored: {new string('[', 65)}{new string(']', 65)}\n"), ["deep.yaml:6", "nested deeper than 64 levels"]),
            new("20,000 levels", d => Write(d, "abyss.yaml", "a: " + new string('[', 20_000) + new string(']', 20_000) + "\n"), ["abyss.yaml", "nested deeper than 64 levels"]),
            new("alias bomb", d => Write(d, "bomb.yaml", AliasBomb()), ["bomb.yaml", "aliases would expand this file"]),
            new("alias inside its own anchor", d => Write(d, "self.yaml", "a: &a [*a]\n"), ["self.yaml", "refers to a node that contains it"]),
            new("many documents under the alias budget each", d => Write(d, "many.yaml", string.Join("---\n", Enumerable.Repeat("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n", 100))), ["many.yaml", "aliases would expand this file"]),
            new("link to a device", d => File.CreateSymbolicLink(Path.Combine(d, "zero.yaml"), "/dev/zero"), ["zero.yaml", "not a regular file"]),
            new("named pipe", d => MakeFifo(Path.Combine(d, "pipe.yaml")), ["pipe.yaml", "not a regular file"]),
            new("route timeout past TimeSpan", d => Write(d, "timeout.yaml", RouteGroup("slow", "timeout: 9999999999999h")), ["timeout.yaml", "spec.routes[0].timeout: must be a duration from 0s to 24h"]),
            new("route timeout past protobuf", d => Write(d, "timeout.yaml", RouteGroup("slow", "timeout: 100000000h")), ["timeout.yaml", "spec.routes[0].timeout: must be a duration from 0s to 24h"]),
            new("sandbox ttl past TimeSpan", d => Write(d, "ttl.yaml", "apiVersion: sandboxctl.io/v1alpha1\nkind: Sandbox\nmetadata: {name: old, namespace: shop}\nspec: {ttl: 9999999999999h, forks: [{of: {name: cart}}]}\n"), ["ttl.yaml", "spec.ttl: must be a duration from 1s to 8760h"]),
            new("weight past int", d => Write(d, "weight.yaml", "apiVersion: sandboxctl.io/v1alpha1\nkind: RouteGroup\nmetadata: {name: heavy, namespace: shop}\nspec:\n  routes:\n  - service: cart\n    to: [{service: cart-v2, weight: 4294967296}, {service: cart, weight: 0}]\n"), ["weight.yaml", "4294967296 is out of range"]),
            new("file over the size limit", d => Sparse(Path.Combine(d, "huge.yaml"), ManifestLimits.MaxFileBytes + 1), ["huge.yaml", "a manifest file may have at most 16 MiB"]),
            new("symlink loop", d =>
            {
                Directory.CreateDirectory(Path.Combine(d, "sub"));
                Directory.CreateSymbolicLink(Path.Combine(d, "loop"), d);
                Directory.CreateSymbolicLink(Path.Combine(d, "sub", "up"), "..");
                Write(d, Path.Combine("sub", "marker.yaml"), "# a file below the loops\n");
            }, ["Loaded manifests"]),
            new("dangling symlink", d => File.CreateSymbolicLink(Path.Combine(d, "gone.yaml"), Path.Combine(d, "nowhere", "gone.yaml")), ["gone.yaml", "cannot read the file"]),
            new("unreadable file", d =>
            {
                Write(d, "secret.yaml", RouteGroup("secret"));
                File.SetUnixFileMode(Path.Combine(d, "secret.yaml"), UnixFileMode.None);
            }, ["secret.yaml", "cannot read the file"], NeedsPermissions: true),
            new("unreadable directory", d =>
            {
                Directory.CreateDirectory(Path.Combine(d, "locked"));
                Write(d, Path.Combine("locked", "inside.yaml"), RouteGroup("inside"));
                File.SetUnixFileMode(Path.Combine(d, "locked"), UnixFileMode.None);
            }, ["locked", "cannot read the directory"], NeedsPermissions: true),
        ];

        public override string ToString() => Name;

        private static void Write(string directory, string name, string text) => File.WriteAllText(Path.Combine(directory, name), text);

        private static void MakeFifo(string path)
        {
            using var mkfifo = Process.Start("mkfifo", [path]);
            mkfifo.WaitForExit();
            Assert.That(mkfifo.ExitCode, Is.Zero, "mkfifo");
        }

        private static void Sparse(string path, long length)
        {
            using var file = File.OpenWrite(path);
            file.SetLength(length);
        }

        /// <summary>9 levels of 9 aliases: 462 bytes that expand to 387 million nodes.</summary>
        private static string AliasBomb()
        {
            var text = new StringBuilder("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
            for (var level = 'b'; level <= 'i'; level++)
            {
                text.Append(level).Append(": &").Append(level).Append(" [").Append(string.Join(",", Enumerable.Repeat("*" + (char)(level - 1), 9))).Append("]\n");
            }

            return text.ToString();
        }
    }
}
