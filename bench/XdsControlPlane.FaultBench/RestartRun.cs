using System.Diagnostics;
using XdsControlPlane.ControlLoopBench;
using XdsControlPlane.Testing;

namespace XdsControlPlane.FaultBench;

/// <summary>
/// SIGKILL and restart under load: <c>clients</c> streams in sync with the server, the server killed with SIGKILL and
/// started again at once on the same port; the clients redial and must get the same version of every type and the
/// same resources back, with no response that changes anything they hold. Converged: every client in sync on its new
/// stream; timed from the kill.
/// </summary>
internal sealed class RestartRun(BenchSettings settings)
{
    public async Task<IReadOnlyList<string>> RunAsync(CancellationToken cancellationToken)
    {
        using var inventory = new FaultInventory(settings.Services);
        var port = FreePort.Next();
        var progress = settings.Progress;
        var server = ServerUnderTest.Start(settings.ServerDll, Args(inventory), settings.Log("restart-1"), xdsPort: port);
        await using var fleet = ClientFleet.Create(settings.Clients, port);
        try
        {
            await server.WaitReadyAsync(TimeSpan.FromSeconds(120), cancellationToken);
            var start = Stopwatch.GetTimestamp();
            fleet.StartAll();
            var first = await fleet.WaitSyncedAsync(1, settings.Timeout, progress, cancellationToken) ?? throw new TimeoutException("the clients did not get in sync with the first server");
            progress.WriteLine($"{settings.Clients} clients in sync in {Stopwatch.GetElapsedTime(start, first).TotalSeconds:0.0} s");
            var versions = fleet.Clients.Select(c => c.Versions).ToList();
            var held = fleet.Clients.Select(c => c.Configuration()).ToList();
            var rssBefore = ProcessSample.Of(server.ProcessId).RssMib;
            var load = ProcessSample.LoadAverage();

            var killed = Stopwatch.GetTimestamp();
            await server.KillAsync();
            await server.DisposeAsync();
            server = ServerUnderTest.Start(settings.ServerDll, Args(inventory), settings.Log("restart-2"), xdsPort: port);
            var ready = await server.WaitReadyAsync(TimeSpan.FromSeconds(120), cancellationToken);
            var readyAt = Stopwatch.GetTimestamp();
            progress.WriteLine($"killed; the new server was ready {Stopwatch.GetElapsedTime(killed).TotalSeconds:0.0} s after the kill ({ready.TotalSeconds:0.0} s after its start)");
            var again = await fleet.WaitSyncedAsync(2, settings.Timeout, progress, cancellationToken);
            var sameVersions = fleet.Clients.Select((c, i) => c.Versions.OrderBy(v => v.Key).SequenceEqual(versions[i].OrderBy(v => v.Key))).Count(same => same);
            var sameResources = fleet.Clients.Select((c, i) => c.Configuration() == held[i]).Count(same => same);
            var changes = fleet.Clients.Sum(c => c.Changes);
            var versionChanges = fleet.Clients.Sum(c => c.VersionChanges);
            var problems = server.Problems.Count;
            return
            [
                $"## SIGKILL and restart under {settings.Clients:N0} streams",
                "",
                $"Load average {load:0.0} (2 cores, shared); {settings.Services} Services, {fleet.Peers} source addresses; the server's RSS before the kill {rssBefore:0} MiB.",
                "",
                "| | |",
                "|---|---|",
                $"| first convergence (all streams opened at once) | {Stopwatch.GetElapsedTime(start, first).TotalSeconds:0.0} s |",
                $"| kill → new process ready (`/readyz`) | {Stopwatch.GetElapsedTime(killed, readyAt).TotalSeconds:0.0} s (the process alone: {ready.TotalSeconds:0.0} s) |",
                $"| kill → every client in sync again | {(again is { } t ? $"{Stopwatch.GetElapsedTime(killed, t).TotalSeconds:0.0} s" : "not within the timeout")} |",
                $"| clients with the same version of every type | {sameVersions:N0} / {settings.Clients:N0} |",
                $"| clients with the same resources | {sameResources:N0} / {settings.Clients:N0} |",
                $"| responses that changed a resource a client held (route flaps) | {changes:N0} |",
                $"| responses with another version of a type | {versionChanges:N0} |",
                $"| Warning/Error lines of the new server | {problems} |",
                "",
            ];
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static string[] Args(FaultInventory inventory) => ["--manifests", inventory.Directory, "--webhook-port", "0"];
}
