using System.Globalization;
using System.Text.RegularExpressions;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// Faults of the server process itself (issue 25), through the real process on loopback and Envoy-shaped raw ADS
/// clients (<see cref="ReconnectingAdsClient"/>): killed with SIGKILL and started again on the same port, its clients
/// keep what they hold, redial and get the very same versions and resources back (they are derived from content), with
/// no different configuration in between; every client NACKing every push leaves it serving others, answering
/// <c>/healthz</c> and writing a bounded number of NACK lines. The figures at scale (1,000 streams, a minute of NACKs)
/// come from <c>bench/XdsControlPlane.FaultBench</c>: docs/faults.md.
/// </summary>
public sealed partial class ProcessFaultTests
{
    private const int Clients = 20;
    private string _directory = "";

    [SetUp]
    public void CopyTheShop()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-process-faults-").FullName;
        foreach (var file in Directory.GetFiles(RepoDirectory.Path("examples", "shop"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(_directory, Path.GetFileName(file)));
        }
    }

    [TearDown]
    public void RemoveTheShop() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task KilledAndRestarted_ClientsRedial_AndGetTheSameVersionsBack_WithoutAnyOtherConfigurationInBetween()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var port = FreePort.Next();
        var server = await ServerProcess.StartAsync(["--manifests", _directory], xdsPort: port);
        var clients = Enumerable.Range(0, Clients)
            .Select(i => ReconnectingAdsClient.Connect($"client-{i}", i % 2 == 0 ? "sidecar" : "gateway", port))
            .ToList();
        try
        {
            clients.ForEach(c => c.Start());
            await Eventually.WaitAsync(() => clients.All(c => c.SyncedStream == 1), "every client in sync with the first server", cancel.Token);
            var versions = clients.Select(c => c.Versions).ToList();
            var held = clients.Select(c => c.Configuration()).ToList();

            await server.KillAsync();
            var killedOutput = server.Output();
            await server.DisposeAsync();
            var heldWhileDown = clients.Select(c => c.Configuration()).ToList();
            server = await ServerProcess.StartAsync(["--manifests", _directory], xdsPort: port);
            await Eventually.WaitAsync(() => clients.All(c => c.SyncedStream >= 2), "every client in sync again after the restart", cancel.Token);

            Assert.Multiple(() =>
            {
                Assert.That(killedOutput, Does.Not.Contain("Application is shutting down"), "SIGKILL: no shutdown ran");
                Assert.That(heldWhileDown, Is.EqualTo(held), "the clients keep what they hold while the server is gone");
                Assert.That(held.Distinct().Count(), Is.EqualTo(2), "one configuration per role");
                Assert.That(versions[0], Has.Count.EqualTo(4), "CDS, EDS, LDS and RDS");
                Assert.That(clients.Select(c => c.Versions), Is.EqualTo(versions), "the same version of every type after the restart");
                Assert.That(clients.Select(c => c.Configuration()), Is.EqualTo(held), "the same resources after the restart");
                Assert.That(clients.Sum(c => c.Changes), Is.Zero, "no response changed a resource a client held: no route flap");
                Assert.That(clients.Sum(c => c.VersionChanges), Is.Zero, "no response carried another version of a type");
                Assert.That(server.Output(), Does.Not.Contain("Warning").And.Not.Contain("Error"));
            });
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
            await server.DisposeAsync();
        }
    }

    [Test]
    public async Task NackStorm_EveryClientRejectsEveryPush_TheServerServesOthers_AnswersHealthz_AndLogsWithinItsBudget()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        const int budget = 3;
        await using var server = await ServerProcess.StartAsync(["--manifests", _directory], new Dictionary<string, string>
        {
            ["XDSCP_Xds__ClientLogLines"] = budget.ToString(CultureInfo.InvariantCulture),
            ["XDSCP_Xds__ClientLogInterval"] = "01:00:00",
        });
        var clients = Enumerable.Range(0, Clients).Select(i => ReconnectingAdsClient.Connect($"nack-{i}", "sidecar", server.XdsPort)).ToList();
        try
        {
            clients.ForEach(c =>
            {
                c.NackEverything = true;
                c.Start();
            });
            await Eventually.WaitAsync(() => clients.All(c => c.SyncedStream == 1), "every NACKing client got every type once", cancel.Token);

            // Pushes to NACK: the cart endpoints move, one port after another, while the clients reject each version.
            for (var round = 1; round <= 10; round++)
            {
                var before = clients.Select(c => c.Nacks).ToList();
                await WriteAtomicallyAsync("endpointslices.yaml", File.ReadAllText(RepoDirectory.Path("examples", "shop", "endpointslices.yaml")).Replace("port: 18081", $"port: {28000 + round}", StringComparison.Ordinal), cancel.Token);
                await Eventually.WaitAsync(() => clients.Select((c, i) => c.Nacks > before[i]).All(more => more), $"round {round}: every client NACKed the new endpoints", cancel.Token);
            }

            await using var fresh = ReconnectingAdsClient.Connect("fresh", "sidecar", server.XdsPort);
            fresh.Start();
            await Eventually.WaitAsync(() => fresh.SyncedStream == 1, "a fresh client served in full during the storm", cancel.Token);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.AdminPort}") };
            using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative), cancel.Token);
            var nacked = clients.Sum(c => c.Nacks);
            await Eventually.WaitAsync(async () => SuppressedNacks(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancel.Token)) == nacked - budget, $"{nacked - budget} NACK lines counted as left out");

            Assert.Multiple(() =>
            {
                Assert.That(clients.Select(c => c.Nacks - c.Responses), Has.All.Zero, "every client NACKed every response");
                Assert.That(clients.Select(c => c.Nacks), Has.All.GreaterThanOrEqualTo(4 + 10), "the first of each type and at least one a round");
                Assert.That(fresh.Versions["EDS"], Is.Not.Empty);
                Assert.That(fresh.Configuration(), Does.Contain("RDS "), "the fresh client holds routes");
                Assert.That((int)health.StatusCode, Is.EqualTo(200));
                Assert.That(NackLine().Matches(server.Output()), Has.Count.EqualTo(budget), "NACK lines within the budget of the interval");
                Assert.That(server.Running, Is.True);
            });
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    private static long SuppressedNacks(string metrics) =>
        SuppressedLine().Match(metrics) is { Success: true } match ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    private async Task WriteAtomicallyAsync(string file, string text, CancellationToken cancellationToken)
    {
        var temporary = Path.Combine(_directory, "." + file + ".tmp");
        await File.WriteAllTextAsync(temporary, text, cancellationToken);
        File.Move(temporary, Path.Combine(_directory, file), overwrite: true);
    }

    [GeneratedRegex(@"rejected \S+ version")]
    private static partial Regex NackLine();

    [GeneratedRegex(@"xds_client_log_lines_suppressed_total\{kind=""nack""\} (\d+)")]
    private static partial Regex SuppressedLine();
}
