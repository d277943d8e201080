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
    private const int BulkPort = 9001;
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    private readonly List<double> _loads = [];

    public async Task<BenchResults> RunAsync(CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("tunnel-bench-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "bench.yaml"), Manifest, cancellationToken);
            await using var laptop = new LaptopService();
            using var iperf = await Iperf.StartAsync(FreePort.Next(), cancellationToken);
            var bulk = new IPEndPoint(IPAddress.Loopback, iperf.Port);
            var sshMissing = SshForward.Missing;
            using var ssh = sshMissing is null ? await SshForward.StartAsync(FreePort.Next(), FreePort.Next(), bulk, cancellationToken) : null;
            var tunnelPort = FreePort.Next();
            string[] serverArgs = ["--manifests", directory, "--tunnel-port", tunnelPort.ToString(CultureInfo.InvariantCulture), "--tunnel-listen-ports", "0", "--webhook-port", "0"];
            await using var broker = ServerUnderTest.Start(settings.ServerDll, serverArgs, Path.Combine(Path.GetTempPath(), "tunnel-bench-server.log"));
            progress.WriteLine($"server starting (log: {broker.LogFile})");
            await broker.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
            // The agent announces the settings' receive window (what the broker may send per connection before it grants more).
            var hello = TunnelTestAgent.Hello("bench", "bench-laptop", "bench", [WorkloadPort, BulkPort], routingKey: "bench", session: Guid.NewGuid().ToString("N"));
            hello.InitialWindow = (uint)settings.AgentLimits.ReceiveWindow;
            await using var agent = await TunnelTestAgent.ConnectAsync(tunnelPort, hello, new Dictionary<int, int> { [WorkloadPort] = laptop.EndPoint.Port, [BulkPort] = iperf.Port }, settings.AgentLimits, cancellationToken, lanes: settings.AgentLanes, cork: settings.AgentCork, rawLanes: settings.AgentRawLanes);
            await WaitForLanesAsync(agent, cancellationToken);
            var direct = laptop.EndPoint;
            var endpoint = agent.Welcome.Endpoints.Single(e => e.Port == WorkloadPort);
            var tunnel = new IPEndPoint(IPAddress.Parse(endpoint.Address), (int)endpoint.BrokerPort);
            var bulkEndpoint = agent.Welcome.Endpoints.Single(e => e.Port == BulkPort);
            var tunnelBulk = new IPEndPoint(IPAddress.Parse(bulkEndpoint.Address), (int)bulkEndpoint.BrokerPort);
            progress.WriteLine($"agent connected: workload port {WorkloadPort} at broker {tunnel}, laptop service at {direct}; iperf3 at {bulk}, through the broker at {tunnelBulk}, through ssh -L at {ssh?.EndPoint.ToString() ?? sshMissing}");

            await WarmUpAsync(direct, tunnel, cancellationToken);
            await WaitQuietAsync(agent, laptop, cancellationToken);
            var idle = await MeasureIdleAsync(broker, agent, laptop, direct, tunnel, cancellationToken);

            var paths = new List<(string Name, IPEndPoint Target)> { ("direct", bulk), ("tunnel", tunnelBulk) };
            if (ssh is not null)
            {
                paths.Add(("ssh -L", ssh.EndPoint));
            }

            // As many lanes as the agent has streams (its primary and its lanes).
            await using var probe = settings.RawLaneProbe ? await RawLaneProbe.StartAsync(bulk, 1 + agent.Multiplexer.ExtraLanes, cancellationToken) : null;
            if (probe is not null)
            {
                paths.Add((RawProbePath, probe.EndPoint));
                progress.WriteLine($"raw lane probe: {1 + agent.Multiplexer.ExtraLanes} lane(s), entrance at {probe.EndPoint}");
            }

            var throughput = await MeasureThroughputAsync(broker, agent, laptop, paths, cancellationToken);
            var directLatency = await LatencyProbe.MeasureAsync(direct, settings.WarmUpRounds, settings.Rounds, cancellationToken);
            var tunnelLatency = await LatencyProbe.MeasureAsync(tunnel, settings.WarmUpRounds, settings.Rounds, cancellationToken);
            progress.WriteLine($"latency p50/p99: direct {directLatency.P50:0}/{directLatency.P99:0} µs, tunnel {tunnelLatency.P50:0}/{tunnelLatency.P99:0} µs");
            var peak = broker.Memory("VmHWM");
            return new BenchResults(throughput, directLatency, tunnelLatency, idle, peak, broker.Problems, sshMissing, [.. _loads]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// iperf3 over each path, one stream and <see cref="BenchSettings.ParallelStreams"/>, each way; every repetition
    /// measures the paths back to back, so a change of the machine's load hits them alike. Also the tunnel's CPU per MB
    /// (the broker process plus this one, which runs the agent).
    /// </summary>
    private async Task<List<ThroughputResult>> MeasureThroughputAsync(ServerUnderTest broker, TunnelTestAgent agent, LaptopService laptop, List<(string Name, IPEndPoint Target)> paths, CancellationToken cancellationToken)
    {
        var cases = new[] { 1, settings.ParallelStreams }.SelectMany(streams => new[] { Direction.ClientToLaptop, Direction.LaptopToClient }.Select(direction => (Streams: streams, Direction: direction))).ToArray();
        var rates = cases.ToDictionary(c => c, _ => paths.ToDictionary(p => p.Name, _ => new List<double>()));
        var cpu = cases.ToDictionary(c => c, _ => new List<double>());
        var brokerCpuUsed = cases.ToDictionary(c => c, _ => new List<double>());
        var agentCpuUsed = cases.ToDictionary(c => c, _ => new List<double>());
        var brokerSwitches = cases.ToDictionary(c => c, _ => new List<double>());
        var agentSwitches = cases.ToDictionary(c => c, _ => new List<double>());
        var probeCpu = cases.ToDictionary(c => c, _ => new List<double>());
        for (var round = 1; round <= settings.Repeat; round++)
        {
            foreach (var c in cases)
            {
                foreach (var (name, target) in paths)
                {
                    _loads.Add(LoadAverage());
                    var (brokerCpu, benchCpu) = (broker.CpuTime(), BenchProcess.CpuTime());
                    var (brokerWaits, benchWaits) = (BenchProcess.VoluntarySwitches(broker.ProcessId), BenchProcess.VoluntarySwitches());
                    var rate = await Iperf.MeasureAsync(target, c.Direction, c.Streams, settings.Seconds, cancellationToken);
                    if (name == "tunnel")
                    {
                        var (brokerBusy, agentBusy) = ((broker.CpuTime() - brokerCpu).TotalMilliseconds, (BenchProcess.CpuTime() - benchCpu).TotalMilliseconds);
                        var megabytes = rate * settings.Seconds / 8 / 1e6;
                        cpu[c].Add((brokerBusy + agentBusy) / megabytes);
                        brokerCpuUsed[c].Add(brokerBusy / megabytes);
                        agentCpuUsed[c].Add(agentBusy / megabytes);
                        brokerSwitches[c].Add((BenchProcess.VoluntarySwitches(broker.ProcessId) - brokerWaits) / megabytes);
                        agentSwitches[c].Add((BenchProcess.VoluntarySwitches() - benchWaits) / megabytes);
                    }
                    else if (name == RawProbePath)
                    {
                        probeCpu[c].Add((BenchProcess.CpuTime() - benchCpu).TotalMilliseconds / (rate * settings.Seconds / 8 / 1e6));
                    }

                    rates[c][name].Add(rate);
                    progress.WriteLine($"round {round}: {c.Streams} stream(s) {c.Direction}, {name}: {rate / 1e9:0.00} Gbit/s");
                    await WaitQuietAsync(agent, laptop, cancellationToken);
                }
            }
        }

        return [.. cases.Select(c => new ThroughputResult(c.Streams, c.Direction, rates[c]["direct"], rates[c]["tunnel"], rates[c].GetValueOrDefault("ssh -L") ?? [], ThroughputResult.Median(cpu[c]), ThroughputResult.Median(brokerCpuUsed[c]), ThroughputResult.Median(agentCpuUsed[c]), ThroughputResult.Median(brokerSwitches[c]), ThroughputResult.Median(agentSwitches[c]))
        {
            RawProbe = rates[c].GetValueOrDefault(RawProbePath) ?? [],
            RawProbeCpuPerMegabyte = ThroughputResult.Median(probeCpu[c]),
        })];
    }

    /// <summary>Waits until the agent's lanes are attached (the broker offers them in Welcome; the agent opens them after it).</summary>
    private async Task WaitForLanesAsync(TunnelTestAgent agent, CancellationToken cancellationToken)
    {
        var expected = XdsControlPlane.Tunnel.AgentLanes.CountFor(agent.Welcome, settings.AgentLimits, settings.AgentLanes);
        var waited = Stopwatch.StartNew();
        while (agent.Multiplexer.ExtraLanes < expected && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(20, cancellationToken);
        }

        progress.WriteLine($"agent lanes: {agent.Multiplexer.ExtraLanes} of {expected} besides its stream (protocol version {agent.Welcome.Version}; raw lanes offered: {agent.Welcome.RawLanes}, used: {settings.AgentRawLanes})");
    }

    /// <summary>The one-minute load average (how busy the machine was while measuring).</summary>
    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

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

    /// <summary>The name of the raw-lane probe's path (<see cref="RawLaneProbe"/>).</summary>
    private const string RawProbePath = "raw lane probe";

    private const string Manifest = """
        apiVersion: v1
        kind: Service
        metadata: {name: bench, namespace: bench}
        spec:
          ports: [{name: tcp, port: 9000}, {name: iperf, port: 9001}]
        """;
}
