using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Envoy.Config.Endpoint.V3;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// Local connect in manifests mode, end to end on loopback: the server host with the tunnel broker inside, an agent on
/// the real multiplexer, a "laptop" gRPC and HTTP service, baseline backends, and a real proxyless gRPC client
/// (@grpc/grpc-js-xds) routing through what the server translated. Keyed calls reach the laptop, others the baseline;
/// the endpoint EDS names carries HTTP to the laptop; outbound connections reach in-cluster Services only; bad input is
/// refused with a clear status and disturbs nothing; a goodbye withdraws the routes at once, and so does a lost stream —
/// the workload is held for the grace, so an agent that comes back gets the same ports; --force takes a workload over.
/// </summary>
[Category("XdsClients")]
[NonParallelizable]
public sealed class LocalConnectTests
{
    private const string Target = "xds:///echo.shop:8080";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Longer than any wait here: a workload whose agent went away is held (same key, same ports) through every test.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(120);
    private readonly HostLog _log = new();
    private string _directory = "";
    private ServerHost? _host;
    private XdsClientHarness? _harness;
    private TcpListener? _orders;
    private TcpListener? _web;
    private int _session;

    private ServerHost Host => _host!;

    private XdsClientHarness Harness => _harness!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-local-").FullName;
        using var cancel = new CancellationTokenSource(Timeout);
        _host = new InProcessServer()
            .WithManifests(_directory)
            .WithLog(_log)
            .With("Tunnel:ReconnectGrace", Grace)
            .With("Sources:Debounce", TimeSpan.FromMilliseconds(50))
            .With("Sources:MaxDebounce", TimeSpan.FromMilliseconds(500))
            .With("Manifests:PollInterval", TimeSpan.FromSeconds(5))
            .Create();
        await _host.StartAsync(cancel.Token);
        _harness = await XdsClientHarness.StartAsync(XdsClientKind.GrpcJs, _host.XdsPort, "grpc-local", "grpc", "shop", "baseline", "laptop");
        _orders = HttpBackend("orders");
        _web = HttpBackend("laptop-web");
        await File.WriteAllTextAsync(Path.Combine(_directory, "inventory.yaml"), Inventory(Harness.BackendPorts["baseline"], ((IPEndPoint)_orders.LocalEndpoint).Port), cancel.Token);
        await Eventually.WaitAsync(async () => (await Harness.CallAsync(Target, 1)).Backends.GetValueOrDefault("baseline") == 1, "the first snapshot");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _orders?.Dispose();
        _web?.Dispose();
        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }

        if (_host is not null)
        {
            using var cancel = new CancellationTokenSource(Timeout);
            await _host.StopAsync(cancel.Token);
            await _host.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    [SetUp]
    public void ClearLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    [Test]
    public async Task Connect_KeyedCallsReachTheLaptop_OthersTheBaseline_AndGoodbyeFallsBackAtOnce()
    {
        await using var agent = await ConnectLaptopAsync();
        await Eventually.WaitAsync(async () => (await KeyedCallAsync()).GetValueOrDefault("laptop") == 1, "keyed calls to reach the laptop");
        Assert.Multiple(async () =>
        {
            Assert.That(await CallAsync(20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["laptop"] = 20 }));
            Assert.That(await CallAsync(20), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 20 }));
            Assert.That(await CallAsync(10, "someone-else"), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 10 }));
        });

        var left = Stopwatch.StartNew();
        var leaving = agent.GoodbyeAsync();

        // No call fails meanwhile: the broker withdraws the routes first and carries what is still on its way.
        await Eventually.WaitAsync(async () => (await CallAsync(1, "feature-x")).GetValueOrDefault("baseline") == 1, "keyed calls to fall back after the goodbye");
        TestContext.Out.WriteLine($"fallback {left.ElapsedMilliseconds} ms after the goodbye");
        await leaving;
        Assert.That(await CallAsync(20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 20 }));
    }

    [Test]
    public async Task BrokerEndpoint_NamedByEds_CarriesHttpToTheLaptop()
    {
        await using var agent = await TunnelTestAgent.ConnectAsync(Host.TunnelPort, TunnelTestAgent.Hello("shop", "alice-web", "web", [80], routingKey: "feature-x", session: NextSession()), new Dictionary<int, int> { [80] = ((IPEndPoint)_web!.LocalEndpoint).Port });
        var endpoint = agent.Welcome.Endpoints.Single();
        Assert.That((endpoint.Port, endpoint.Protocol, endpoint.Address), Is.EqualTo((80u, "http", "127.0.0.1")));

        // What Envoy would dial: the endpoint in the published EDS resource.
        await Eventually.WaitAsync(() => Task.FromResult(PublishedEndpoint("local|80||alice-web.shop") == (int)endpoint.BrokerPort), "the LocalWorkload's endpoint in EDS");
        using var http = new HttpClient();
        var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{endpoint.BrokerPort}/hello")).WaitAsync(Timeout);
        Assert.That(body, Is.EqualTo("laptop-web GET /hello"));
    }

    [Test]
    public async Task Outbound_ReachesKnownServicesOnly()
    {
        await using var agent = await ConnectLaptopAsync();
        using (var app = await agent.OpenOutboundAsync("orders", 8080))
        {
            Assert.That(await ExchangeAsync(app, "GET /orders HTTP/1.1\r\nHost: orders\r\nConnection: close\r\n\r\n"), Does.EndWith("orders GET /orders"));
        }

        var refused = new TaskCompletionSource<(CloseReason, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        agent.Multiplexer.ConnectionFailedAtPeer += (_, reason, message) => refused.TrySetResult((reason, message));
        using (var app = await agent.OpenOutboundAsync("kube-dns.kube-system", 53))
        {
            var (reason, message) = await refused.Task.WaitAsync(Timeout);
            Assert.Multiple(() =>
            {
                Assert.That(reason, Is.EqualTo(CloseReason.Forbidden));
                Assert.That(message, Does.Contain("may reach the Services of namespace shop"));
            });
            Assert.That(await ReadToEndAsync(app), Is.Empty, "the app's connection is closed");
        }
    }

    [Test]
    public async Task BadHello_IsRefusedWithAClearStatus_AndTheConnectedAgentKeepsWorking()
    {
        await using var agent = await ConnectLaptopAsync();
        await Eventually.WaitAsync(async () => (await KeyedCallAsync()).GetValueOrDefault("laptop") == 1, "keyed calls to reach the laptop");
        _log.Expect("Refused an agent");

        async Task<RpcException> Refused(Hello hello) =>
            Assert.ThrowsAsync<RpcException>(async () => await TunnelTestAgent.ConnectAsync(Host.TunnelPort, hello, new Dictionary<int, int>()))!;

        var newer = TunnelTestAgent.Hello("shop", "bob", "echo", [8080], routingKey: "bob", session: NextSession());
        newer.MinVersion = 3;
        newer.MaxVersion = 4;
        var cases = new (Hello Hello, StatusCode Code, string Message)[]
        {
            (newer, StatusCode.FailedPrecondition, "the agent speaks tunnel protocol versions 3-4, this broker 1-2"),
            (TunnelTestAgent.Hello("shop", "bob", "nope", [8080], routingKey: "bob", session: NextSession()), StatusCode.NotFound, "Service shop/nope not found (Services in shop: bulk, echo, orders, web)"),
            (TunnelTestAgent.Hello("shop", "bob", "echo", [9999], routingKey: "bob", session: NextSession()), StatusCode.FailedPrecondition, "Service shop/echo has no port 9999 (ports: 8080/grpc)"),
            (TunnelTestAgent.Hello("shop", "Bob!", "echo", [8080], routingKey: "bob", session: NextSession()), StatusCode.InvalidArgument, "Hello.local_workload: 'Bob!' is not a LocalWorkload name"),
            (TunnelTestAgent.Hello("shop", "alice", "echo", [8080], routingKey: "feature-x", session: NextSession()), StatusCode.AlreadyExists, "LocalWorkload shop/alice is connected from another agent"),
        };
        foreach (var (hello, code, message) in cases)
        {
            var e = await Refused(hello);
            Assert.Multiple(() =>
            {
                Assert.That(e.StatusCode, Is.EqualTo(code), message);
                Assert.That(e.Status.Detail, Does.StartWith(message));
            });
        }

        Assert.That(await CallAsync(20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["laptop"] = 20 }), "the connected agent is undisturbed");
    }

    [Test]
    public async Task FrameForAnUnknownConnection_IsRefused_AndTheTunnelKeepsCarrying()
    {
        await using var agent = await ConnectLaptopAsync();
        await Eventually.WaitAsync(async () => (await KeyedCallAsync()).GetValueOrDefault("laptop") == 1, "keyed calls to reach the laptop");
        _log.Expect("which was never opened");
        await agent.SendRawAsync(new Frame { Data = new Data { ConnectionId = 999_999, Payload = Google.Protobuf.ByteString.CopyFromUtf8("junk") } });
        await agent.SendRawAsync(new Frame { Window = new Window { ConnectionId = 999_998, Increment = 5 } });
        await Eventually.WaitAsync(() => Task.FromResult(_log.Contains("frame for tunnel connection 999999, which was never opened")), "the broker to refuse the frame");
        Assert.That(await CallAsync(20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["laptop"] = 20 }));

        // The second refusal is counted, not logged at once; the count is logged when the stream ends (within this test).
        await agent.AbortAsync();
        await Eventually.WaitAsync(() => Task.FromResult(_log.Contains("1 more tunnel frames refused")), "the count of refusals not logged yet, when the stream ends");
    }

    [Test]
    public async Task DroppedStream_TheAgentReconnects_SamePortsAndKeyedTrafficFlowsAgain()
    {
        var agent = await ConnectLaptopAsync();
        var port = agent.Welcome.Endpoints.Single().BrokerPort;
        await Eventually.WaitAsync(async () => (await KeyedCallAsync()).GetValueOrDefault("laptop") == 1, "keyed calls to reach the laptop");
        await agent.DisposeAsync();

        var reconnected = Stopwatch.StartNew();
        await using var again = await ConnectLaptopAsync();
        Assert.That(again.Welcome.Endpoints.Single().BrokerPort, Is.EqualTo(port), "the same broker port: EDS does not change");
        await Eventually.WaitAsync(async () => (await KeyedCallAsync()).GetValueOrDefault("laptop") == 1, "keyed calls to reach the laptop again");
        TestContext.Out.WriteLine($"keyed traffic again {reconnected.ElapsedMilliseconds} ms after the reconnect");
        Assert.That(await CallAsync(20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["laptop"] = 20 }));
    }

    [Test]
    public async Task ReconnectBeforeTheDropIsNoticed_NewConnectionsGoToTheNewStream()
    {
        // The laptop reconnects while the broker still holds its old stream (a dead TCP connection nobody noticed yet):
        // the new stream takes over, and data planes' connections must go to it, not to the stream that was ended.
        await using var old = await ConnectLaptopAsync();
        await Eventually.WaitAsync(async () => (await KeyedCallAsync()).GetValueOrDefault("laptop") == 1, "keyed calls to reach the laptop");
        await using var again = await ConnectLaptopAsync();

        // The client's connection through the ended stream is reset (what was in flight on it is lost); its next one
        // goes through the new stream, and stays there.
        await Eventually.WaitAsync(async () => (await KeyedCallAsync()).GetValueOrDefault("laptop") == 1, "keyed calls to reach the laptop through the new stream");
        Assert.That(await CallAsync(20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["laptop"] = 20 }), "new connections through the new stream");
    }

    [Test]
    public async Task KilledAgent_KeyedCallsReachTheBaselineWhileTheWorkloadIsHeld_AndAReconnectInTheGraceGetsItBack()
    {
        var agent = await ConnectLaptopAsync();
        var port = agent.Welcome.Endpoints.Single().BrokerPort;
        await Eventually.WaitAsync(async () => (await KeyedCallAsync()).GetValueOrDefault("laptop") == 1, "keyed calls to reach the laptop");

        // kill -9 (or a laptop that sleeps): the stream drops without a goodbye. The grace is far longer than this wait,
        // so the fallback comes from the broker withdrawing the routes, not from the grace running out.
        await agent.DisposeAsync();
        await Eventually.WaitAsync(async () => (await KeyedCallAsync()).GetValueOrDefault("baseline") == 1, "keyed calls to reach the baseline while the workload is held");
        Assert.Multiple(async () =>
        {
            Assert.That(await CallAsync(20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["baseline"] = 20 }), "no keyed call waits for the missing agent");
            Assert.That(PublishedEndpoint("local|8080||alice.shop"), Is.Null, "the laptop's cluster is withdrawn");
        });

        // The agent comes back within the grace: the same workload, key and broker port, and keyed calls reach it again.
        await using var again = await ConnectLaptopAsync();
        Assert.That(again.Welcome.Endpoints.Single().BrokerPort, Is.EqualTo(port), "the workload was held: the same broker port");
        await Eventually.WaitAsync(async () => (await KeyedCallAsync()).GetValueOrDefault("laptop") == 1, "keyed calls to reach the laptop again");
        Assert.Multiple(async () =>
        {
            Assert.That(again.Welcome.RoutingKey, Is.EqualTo("feature-x"));
            Assert.That(await CallAsync(20, "feature-x"), Is.EquivalentTo(new Dictionary<string, int> { ["laptop"] = 20 }));
        });
    }

    [Test]
    public async Task Force_ManifestsMode_TheNewAgentTakesTheWorkloadOver_AndTheOldOneIsRefusedFromThenOn()
    {
        _log.Expect("Refused an agent");
        Hello HelloOf(string session, bool takeOver)
        {
            var hello = TunnelTestAgent.Hello("shop", "carol", "echo", [8080], routingKey: "carol", session: session);
            hello.TakeOver = takeOver;
            return hello;
        }

        var ports = new Dictionary<int, int> { [8080] = Harness.BackendPorts["laptop"] };
        await using var first = await TunnelTestAgent.ConnectAsync(Host.TunnelPort, HelloOf("carol-first", takeOver: false), ports);
        var refused = Assert.ThrowsAsync<RpcException>(async () => await TunnelTestAgent.ConnectAsync(Host.TunnelPort, HelloOf("carol-second", takeOver: false), ports))!;
        Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.AlreadyExists), refused.Status.Detail);

        // sandboxctl local connect --force: admitted on the same broker ports; the first agent's stream is ended.
        await using var forced = await TunnelTestAgent.ConnectAsync(Host.TunnelPort, HelloOf("carol-second", takeOver: true), ports);
        await first.Ended.WaitAsync(Timeout);
        await Eventually.WaitAsync(async () => (await Harness.CallAsync(Target, 1, new Dictionary<string, string> { ["x-routing-key"] = "carol" })).Backends.GetValueOrDefault("laptop") == 1, "keyed calls to reach the forcing agent");

        // The first agent reconnects (its Hello unchanged, even with --force): refused, so the two never take it from each other.
        var back = Assert.ThrowsAsync<RpcException>(async () => await TunnelTestAgent.ConnectAsync(Host.TunnelPort, HelloOf("carol-first", takeOver: true), ports))!;
        Assert.Multiple(async () =>
        {
            Assert.That(forced.Welcome.Endpoints.Single().BrokerPort, Is.EqualTo(first.Welcome.Endpoints.Single().BrokerPort));
            Assert.That(back.StatusCode, Is.EqualTo(StatusCode.AlreadyExists));
            Assert.That(back.Status.Detail, Does.Contain("was taken over by another agent"));
            Assert.That(forced.Ended.IsCompleted, Is.False, "the forcing agent keeps the workload");
            Assert.That(await CallAsync(20, "carol"), Is.EquivalentTo(new Dictionary<string, int> { ["laptop"] = 20 }));
        });
    }

    [Test]
    public async Task FlowControl_AStalledLocalReader_HoldsUpOnlyItsConnection_AndMemoryStaysBounded()
    {
        const long Total = 1L << 30;
        using var laptop = new TcpListener(IPAddress.Loopback, 0);
        laptop.Start();
        var stalled = 0;
        var received = 0L;
        var serving = ServeLaptopAsync(laptop, value => Volatile.Write(ref received, value), value => Volatile.Write(ref stalled, value));
        await using var agent = await TunnelTestAgent.ConnectAsync(Host.TunnelPort, TunnelTestAgent.Hello("shop", "alice-bulk", "bulk", [9000], routingKey: "feature-x", session: NextSession()), new Dictionary<int, int> { [9000] = ((IPEndPoint)laptop.LocalEndpoint).Port });
        var broker = new IPEndPoint(IPAddress.Loopback, (int)agent.Welcome.Endpoints.Single().BrokerPort);
        var tunnels = Host.Services.GetRequiredService<XdsControlPlane.Tunnel.WorkloadTunnels>();

        using var bulk = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var echo = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await bulk.ConnectAsync(broker);
        await bulk.SendAsync("B"u8.ToArray());
        await echo.ConnectAsync(broker);
        await echo.SendAsync("E"u8.ToArray());

        long peakBuffered = 0, peakHeap = 0;
        var sending = Task.Run(async () =>
        {
            var chunk = new byte[64 * 1024];
            for (long sent = 0; sent < Total; sent += chunk.Length)
            {
                Pattern(chunk, sent);
                await bulk.SendAsync(chunk);
            }

            bulk.Shutdown(SocketShutdown.Send);
        });

        // Request/response on the other connection all along, through the stalls.
        var roundTrips = new List<double>();
        var duringStalls = 0;
        var request = new byte[1024];
        var response = new byte[1024];
        while (!sending.IsCompleted || Volatile.Read(ref received) < Total)
        {
            var clock = Stopwatch.StartNew();
            await echo.SendAsync(request);
            for (var got = 0; got < response.Length;)
            {
                var read = await echo.ReceiveAsync(response.AsMemory(got)).AsTask().WaitAsync(Timeout);
                Assert.That(read, Is.GreaterThan(0), "the echo connection ended");
                got += read;
            }

            roundTrips.Add(clock.Elapsed.TotalMilliseconds);
            duringStalls += Volatile.Read(ref stalled);
            peakBuffered = Math.Max(peakBuffered, tunnels.BufferedBytes + agent.Multiplexer.BufferedBytes);
            peakHeap = Math.Max(peakHeap, GC.GetGCMemoryInfo().HeapSizeBytes);
            await Task.Delay(20);
        }

        await sending.WaitAsync(Timeout);
        await serving.WaitAsync(Timeout);
        roundTrips.Sort();
        TestContext.Out.WriteLine($"1 GiB through a reader stalled 3 x 2 s: {roundTrips.Count} echo round trips ({duringStalls} during stalls), p50 {roundTrips[roundTrips.Count / 2]:F2} ms, max {roundTrips[^1]:F1} ms; peak buffered in the tunnel {peakBuffered / 1024} KiB; peak managed heap {peakHeap / (1024 * 1024)} MiB; process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MiB");
        Assert.Multiple(() =>
        {
            Assert.That(Volatile.Read(ref received), Is.EqualTo(Total), "every byte arrived, in order");
            Assert.That(duringStalls, Is.GreaterThan(0), "the echo connection answered while the bulk reader was stalled");

            // Two connections' receive windows on each side, plus the frames queued for the stream.
            Assert.That(peakBuffered, Is.LessThanOrEqualTo((4L * new XdsControlPlane.Tunnel.TunnelLimits().ReceiveWindow) + (2L * 64 * 64 * 1024)));
        });
    }

    /// <summary>The laptop's agent; every test's is the same agent session, so it takes over a stream an earlier test dropped.</summary>
    private Task<TunnelTestAgent> ConnectLaptopAsync(string session = "laptop") =>
        TunnelTestAgent.ConnectAsync(Host.TunnelPort, TunnelTestAgent.Hello("shop", "alice", "echo", [8080], routingKey: "feature-x", session: session), new Dictionary<int, int> { [8080] = Harness.BackendPorts["laptop"] });

    private string NextSession() => $"session-{Interlocked.Increment(ref _session).ToString(CultureInfo.InvariantCulture)}";

    private int? PublishedEndpoint(string cluster)
    {
        var snapshot = Host.Snapshots.GetSnapshot("grpc")?.Snapshot;
        var resource = snapshot?.Resources(TypeUrls.ClusterLoadAssignment).GetValueOrDefault(cluster);
        return resource?.Message is ClusterLoadAssignment assignment && assignment.Endpoints.SelectMany(l => l.LbEndpoints).FirstOrDefault() is { } endpoint
            ? (int)endpoint.Endpoint.Address.SocketAddress.PortValue
            : null;
    }

    /// <summary>
    /// One keyed call, its failures not counted: while the laptop's routes come into force the client may still be backing
    /// off from an endpoint an earlier test left (a failed connect); the steady state after it is asserted without errors.
    /// </summary>
    private async Task<Dictionary<string, int>> KeyedCallAsync() =>
        (await Harness.CallAsync(Target, 1, new Dictionary<string, string> { ["x-routing-key"] = "feature-x" })).Backends;

    private async Task<Dictionary<string, int>> CallAsync(int count, string? key = null)
    {
        var (backends, errors) = await Harness.CallAsync(Target, count, key is null ? null : new Dictionary<string, string> { ["x-routing-key"] = key });
        Assert.That(errors, Is.Empty, $"calls failed: {string.Join("; ", errors)}");
        return backends;
    }

    /// <summary>A tiny HTTP/1.1 server answering "NAME METHOD PATH" to every request, then closing.</summary>
    private static TcpListener HttpBackend(string name)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await listener.AcceptSocketAsync();
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        var head = new StringBuilder();
                        var buffer = new byte[4096];
                        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                        {
                            var read = await socket.ReceiveAsync(buffer);
                            if (read == 0)
                            {
                                return;
                            }

                            head.Append(Encoding.ASCII.GetString(buffer, 0, read));
                        }

                        var line = head.ToString().Split("\r\n")[0].Split(' ');
                        var body = $"{name} {line[0]} {line[1]}";
                        await socket.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
                        socket.Shutdown(SocketShutdown.Send);
                    }
                });
            }
        });
        return listener;
    }

    /// <summary>
    /// The laptop's app for the flow-control test: a connection that starts with 'B' is read slowly (stalls of 2 s after
    /// each 256 MiB) and checked byte by byte; one that starts with 'E' is echoed.
    /// </summary>
    private static async Task ServeLaptopAsync(TcpListener listener, Action<long> setReceived, Action<int> setStalled)
    {
        var bulkDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var accepted = 0; accepted < 2; accepted++)
        {
            var socket = await listener.AcceptSocketAsync();
            var kind = new byte[1];
            await socket.ReceiveAsync(kind);
            if (kind[0] == (byte)'E')
            {
                _ = Task.Run(async () =>
                {
                    using (socket)
                    {
                        var buffer = new byte[4096];
                        int read;
                        while ((read = await socket.ReceiveAsync(buffer)) > 0)
                        {
                            await socket.SendAsync(buffer.AsMemory(0, read));
                        }
                    }
                });
                continue;
            }

            _ = Task.Run(async () =>
            {
                using (socket)
                {
                    var buffer = new byte[64 * 1024];
                    var expected = new byte[buffer.Length];
                    long total = 0;
                    int read;
                    while ((read = await socket.ReceiveAsync(buffer)) > 0)
                    {
                        Pattern(expected.AsSpan(0, read), total);
                        if (!buffer.AsSpan(0, read).SequenceEqual(expected.AsSpan(0, read)))
                        {
                            bulkDone.TrySetException(new InvalidDataException($"wrong bytes at offset {total}"));
                            return;
                        }

                        var before = total;
                        total += read;
                        setReceived(total);
                        if (before / (256L << 20) != total / (256L << 20) && total < (1L << 30))
                        {
                            setStalled(1);
                            await Task.Delay(TimeSpan.FromSeconds(2));
                            setStalled(0);
                        }
                    }

                    bulkDone.TrySetResult();
                }
            });
        }

        await bulkDone.Task;
    }

    private static void Pattern(Span<byte> chunk, long offset)
    {
        for (var i = 0; i < chunk.Length; i++)
        {
            chunk[i] = (byte)((offset + i) % 251);
        }
    }

    private static async Task<string> ExchangeAsync(Socket app, string request)
    {
        await app.SendAsync(Encoding.ASCII.GetBytes(request));
        return await ReadToEndAsync(app);
    }

    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using var cancel = new CancellationTokenSource(Timeout);
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token)) > 0)
            {
                received.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (SocketException)
        {
            // Reset: what was received is what there is.
        }

        return received.ToString();
    }

    private static string Inventory(int baselinePort, int ordersPort) => $$$"""
        apiVersion: v1
        kind: Service
        metadata: {name: echo, namespace: shop}
        spec:
          ports: [{name: grpc, port: 8080}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: echo-1, namespace: shop, labels: {kubernetes.io/service-name: echo}}
        addressType: IPv4
        ports: [{name: grpc, port: {{{baselinePort}}}}]
        endpoints: [{addresses: [127.0.0.1], zone: zone-a}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: orders, namespace: shop}
        spec:
          ports: [{name: http, port: 8080}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: orders-1, namespace: shop, labels: {kubernetes.io/service-name: orders}}
        addressType: IPv4
        ports: [{name: http, port: {{{ordersPort}}}}]
        endpoints: [{addresses: [127.0.0.1]}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec:
          ports: [{name: http, port: 80}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: bulk, namespace: shop}
        spec:
          ports: [{name: tcp, port: 9000}]
        """;
}
