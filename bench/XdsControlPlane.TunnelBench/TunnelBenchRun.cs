using System.Diagnostics;
using System.Globalization;
using System.Net;
using XdsControlPlane.ControlLoopBench;
using XdsControlPlane.Testing;

namespace XdsControlPlane.TunnelBench;

/// <summary>
/// One run: the laptop's service, the server process (manifests mode, one Service <c>bench</c> with tcp port 9000)
/// and the agent connected to it; then each measurement direct to the service and through the broker, in the same run.
/// </summary>
internal sealed class TunnelBenchRun(BenchSettings settings, TextWriter progress)
{
    private const int WorkloadPort = 9000;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    public async Task<BenchResults> RunAsync(CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("tunnel-bench-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "bench.yaml"), Manifest, cancellationToken);
            await using var laptop = new LaptopService();
            var tunnelPort = FreePort.Next();
            string[] serverArgs = ["--manifests", directory, "--tunnel-port", tunnelPort.ToString(CultureInfo.InvariantCulture), "--tunnel-listen-ports", "0"];
            await using var broker = ServerUnderTest.Start(settings.ServerDll, serverArgs, Path.Combine(Path.GetTempPath(), "tunnel-bench-server.log"));
            progress.WriteLine($"server starting (log: {broker.LogFile})");
            await broker.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
            // The agent announces the settings' receive window (what the broker may send per connection before it grants more).
            var hello = TunnelTestAgent.Hello("bench", "bench-laptop", "bench", [WorkloadPort], routingKey: "bench", session: Guid.NewGuid().ToString("N"));
            hello.InitialWindow = (uint)settings.AgentLimits.ReceiveWindow;
            await using var agent = await TunnelTestAgent.ConnectAsync(tunnelPort, hello, new Dictionary<int, int> { [WorkloadPort] = laptop.EndPoint.Port }, settings.AgentLimits, cancellationToken);
            var direct = laptop.EndPoint;
            var endpoint = agent.Welcome.Endpoints.Single(e => e.Port == WorkloadPort);
            var tunnel = new IPEndPoint(IPAddress.Parse(endpoint.Address), (int)endpoint.BrokerPort);
            progress.WriteLine($"agent connected: workload port {WorkloadPort} at broker {tunnel}, laptop service at {direct}");

            await WarmUpAsync(direct, tunnel, cancellationToken);
            await WaitQuietAsync(agent, laptop, cancellationToken);
            var idle = await MeasureIdleAsync(broker, agent, laptop, direct, tunnel, cancellationToken);

            var throughput = new List<ThroughputResult>();
            foreach (var (connections, total) in new[] { (1, settings.SingleBytes), (settings.ParallelConnections, settings.ParallelBytes) })
            {
                foreach (var direction in new[] { Direction.ClientToLaptop, Direction.LaptopToClient })
                {
                    var each = total / connections;
                    var (directCpu, directClock) = (BenchProcess.CpuTime(), Stopwatch.StartNew());
                    var directRate = await ThroughputProbe.MeasureAsync(direct, direction, connections, each, cancellationToken);
                    var directCores = (BenchProcess.CpuTime() - directCpu).TotalSeconds / directClock.Elapsed.TotalSeconds;
                    var (brokerCpu, benchCpu, clock) = (broker.CpuTime(), BenchProcess.CpuTime(), Stopwatch.StartNew());
                    var tunnelRate = await ThroughputProbe.MeasureAsync(tunnel, direction, connections, each, cancellationToken);
                    var seconds = clock.Elapsed.TotalSeconds;
                    var (brokerCores, benchCores) = ((broker.CpuTime() - brokerCpu).TotalSeconds / seconds, (BenchProcess.CpuTime() - benchCpu).TotalSeconds / seconds);
                    progress.WriteLine($"throughput {connections} x {each / 1024 / 1024} MiB {direction}: direct {directRate:0} MB/s, tunnel {tunnelRate:0} MB/s (cores busy: direct {directCores:0.00}; tunnel: broker {brokerCores:0.00}, bench {benchCores:0.00})");
                    throughput.Add(new ThroughputResult(connections, direction, each, directRate, tunnelRate, directCores, brokerCores, benchCores));
                    await WaitQuietAsync(agent, laptop, cancellationToken);
                }
            }

            var directLatency = await LatencyProbe.MeasureAsync(direct, settings.WarmUpRounds, settings.Rounds, cancellationToken);
            var tunnelLatency = await LatencyProbe.MeasureAsync(tunnel, settings.WarmUpRounds, settings.Rounds, cancellationToken);
            progress.WriteLine($"latency p50/p99: direct {directLatency.P50:0}/{directLatency.P99:0} µs, tunnel {tunnelLatency.P50:0}/{tunnelLatency.P99:0} µs");
            var peak = broker.Memory("VmHWM");
            return new BenchResults(throughput, directLatency, tunnelLatency, idle, peak, broker.Problems);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A small amount of everything both ways, so JIT, thread pool and buffers are warm before anything is counted.</summary>
    private async Task WarmUpAsync(IPEndPoint direct, IPEndPoint tunnel, CancellationToken cancellationToken)
    {
        foreach (var target in new[] { direct, tunnel })
        {
            foreach (var direction in new[] { Direction.ClientToLaptop, Direction.LaptopToClient })
            {
                await ThroughputProbe.MeasureAsync(target, direction, 1, 16L * 1024 * 1024, cancellationToken);
                await ThroughputProbe.MeasureAsync(target, direction, 10, 1024L * 1024, cancellationToken);
            }

            await LatencyProbe.MeasureAsync(target, 0, settings.WarmUpRounds, cancellationToken);
            using var idle = await IdleConnections.OpenAsync(target, 64, cancellationToken);
        }

        progress.WriteLine("warmed up");
    }

    /// <summary>Bytes per idle connection: the same N idle connections directly, then through the broker.</summary>
    private async Task<IdleMemoryResult> MeasureIdleAsync(ServerUnderTest broker, TunnelTestAgent agent, LaptopService laptop, IPEndPoint direct, IPEndPoint tunnel, CancellationToken cancellationToken)
    {
        var n = settings.IdleConnections;

        await Task.Delay(Settle, cancellationToken);
        var (rssBefore, heapBefore) = (BenchProcess.ResidentBytes(), CollectedHeap());
        double directRss, directHeap;
        using (var idle = await IdleConnections.OpenAsync(direct, n, cancellationToken))
        {
            await Task.Delay(Settle, cancellationToken);
            (directRss, directHeap) = ((BenchProcess.ResidentBytes() - rssBefore) / (double)n, (CollectedHeap() - heapBefore) / (double)n);
        }

        await WaitQuietAsync(agent, laptop, cancellationToken);
        await Task.Delay(Settle, cancellationToken);
        var (brokerBefore, tunnelHeapBefore) = (broker.Memory("VmRSS"), CollectedHeap());
        double brokerRss, tunnelHeap;
        using (var idle = await IdleConnections.OpenAsync(tunnel, n, cancellationToken))
        {
            await Task.Delay(Settle, cancellationToken);
            (brokerRss, tunnelHeap) = ((broker.Memory("VmRSS") - brokerBefore) / (double)n, (CollectedHeap() - tunnelHeapBefore) / (double)n);
            progress.WriteLine($"{n} idle connections: agent holds {agent.Multiplexer.OpenConnections}, the laptop's service {laptop.OpenConnections}");
        }

        await WaitQuietAsync(agent, laptop, cancellationToken);
        progress.WriteLine($"idle: direct {directRss / 1024:0.0} KiB RSS, {directHeap / 1024:0.0} KiB heap; broker {brokerRss / 1024:0.0} KiB RSS, bench heap {tunnelHeap / 1024:0.0} KiB per connection");
        return new IdleMemoryResult(n, directRss, directHeap, brokerRss, tunnelHeap);
    }

    private static long CollectedHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>Waits until the connections of the last measurement are gone on the agent and at the laptop's service.</summary>
    private static async Task WaitQuietAsync(TunnelTestAgent agent, LaptopService laptop, CancellationToken cancellationToken)
    {
        var waited = Stopwatch.StartNew();
        while (agent.Multiplexer.OpenConnections > 0 || laptop.OpenConnections > 0)
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"connections still open after 30 s: agent {agent.Multiplexer.OpenConnections}, laptop {laptop.OpenConnections}");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    private const string Manifest = """
        apiVersion: v1
        kind: Service
        metadata: {name: bench, namespace: bench}
        spec:
          ports: [{name: tcp, port: 9000}]
        """;
}
