using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Formatting.Display;
using XdsControlPlane.Sources;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The tunnel broker under a hostile client, through the real server host on loopback and raw gRPC calls: bad Hellos
/// are refused at the broker with the field named and never reach the pipeline; one HTTP/2 connection or address
/// cannot take every broker port; client text is printable and capped in logs and statuses; a silent, a non-Hello and
/// a never-reading stream end with a status; thousands of dropped streams leave nothing behind; the metrics show it.
/// </summary>
[NonParallelizable]
public sealed partial class BrokerAdmissionTests
{
    private const string Forged = "\u001b[31m\r\n[12:00:00 INF] forged";
    internal const string Inventory = """
        apiVersion: v1
        kind: Service
        metadata: {name: echo, namespace: shop}
        spec:
          ports: [{name: http, port: 8080}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: echo-1, namespace: shop, labels: {kubernetes.io/service-name: echo}}
        addressType: IPv4
        ports: [{name: http, port: 9}]
        endpoints: [{addresses: [127.0.0.1]}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cache, namespace: shop}
        spec:
          ports: [{name: redis, port: 6379}]
        """;

    /// <summary>The broker's buffer budget per agent session here (Tunnel:Limits:StreamBufferBudget): four 1 MiB windows.</summary>
    private const int StreamBufferBudget = 4 * 1024 * 1024;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static int _session;
    private readonly HostLog _log = new();
    private string _directory = "";
    private ServerHost? _host;

    private ServerHost Host => _host!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-broker-").FullName;
        await File.WriteAllTextAsync(Path.Combine(_directory, "inventory.yaml"), Inventory);
        using var cancel = new CancellationTokenSource(Timeout);
        _host = await new InProcessServer()
            .WithManifests(_directory)
            .WithLog(_log)
            .With("Tunnel:ReconnectGrace", TimeSpan.FromSeconds(1))
            .With("Tunnel:Limits:StreamBufferBudget", StreamBufferBudget)
            .With("Sources:Debounce", TimeSpan.FromMilliseconds(20))
            .With("Sources:MaxDebounce", TimeSpan.FromMilliseconds(200))
            .StartAsync(cancel.Token);
        await Eventually.WaitAsync(() => Inputs?.FindService("shop", "echo") is not null, "the manifests to load");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
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

    private Model.RoutingInputs? Inputs => Host.Services.GetRequiredService<RoutingInputsStore>().Current;

    private BrokerMetrics Metrics => Host.Services.GetRequiredService<BrokerMetrics>();

    private TunnelBrokerService Broker => Host.Services.GetRequiredService<TunnelBrokerService>();

    [Test]
    public async Task LineFeedInRoutingKey_RefusedAtTheBroker_FieldNamed_NothingPublished()
    {
        var refusal = await RefusedAsync(Hello("lf", routingKey: "feature-x\n"));
        var good = Hello("good", routingKey: "feature-x");
        await using var agent = await ConnectAsync(good);
        await Eventually.WaitAsync(() => Inputs?.FindLocalWorkload("shop", "good") is not null, "the good agent's LocalWorkload in force");

        Assert.Multiple(() =>
        {
            Assert.That((refusal.StatusCode, refusal.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "Hello.spec.routing_key: 'feature-x?' is not a routing key (1-63 characters of a-z, 0-9 and '-')")));
            Assert.That(Inputs!.FindLocalWorkload("shop", "lf"), Is.Null, "the refused workload never reached the pipeline");
            Assert.That(_log.Events.Where(e => e.EventId == 7107).Select(e => e.Text), Has.Some.Contains("Hello.spec.routing_key"), string.Join("\n", _log.Events.Select(e => $"{e.EventId} {e.Text}")));
        });
    }

    [Test]
    public async Task HundredHellosOverOneConnection_HitTheLimit_AnAgentOnAnotherConnectionStillGetsAPort()
    {
        var refusalsBefore = await MetricAsync("tunnel_broker_refusals_total{reason=\"connection_limit\"}");
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Host.TunnelPort}", new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false } });
        var client = new TunnelBroker.TunnelBrokerClient(channel);
        var calls = Enumerable.Range(0, 100).Select(i => Hello($"junk-{i}", routingKey: $"junk-{i}")).Select(hello => TryHelloAsync(client, hello)).ToArray();
        var results = await Task.WhenAll(calls).WaitAsync(Timeout);
        try
        {
            var welcomed = results.Count(r => r.Welcome is not null);
            var refused = results.Where(r => r.Refusal is not null).Select(r => r.Refusal!).ToArray();
            await using var real = await ConnectAsync(Hello("real", routingKey: "real"));
            Assert.Multiple(async () =>
            {
                Assert.That(welcomed, Is.EqualTo(new TunnelBrokerOptions().MaxAgentsPerConnection));
                Assert.That(refused, Has.Length.EqualTo(100 - welcomed));
                Assert.That(refused.Select(e => e.StatusCode), Has.All.EqualTo(StatusCode.ResourceExhausted), string.Join("\n", refused.Where(e => e.StatusCode != StatusCode.ResourceExhausted).Select(e => e.Status.ToString())));
                Assert.That(refused.Select(e => e.Status.Detail), Has.All.StartWith("this HTTP/2 connection carries 4 agent streams already (Tunnel:MaxAgentsPerConnection is 4)"));
                Assert.That(real.Welcome.Endpoints.Single().BrokerPort, Is.GreaterThan(0u), "the real agent got a broker port");
                Assert.That(await MetricAsync("tunnel_broker_refusals_total{reason=\"connection_limit\"}") - refusalsBefore, Is.EqualTo(96), "every refusal counted");
                Assert.That(_log.Events.Count(e => e.EventId == 7108), Is.LessThanOrEqualTo(RefusalLogBudget.PerWindow), "not every refusal logged");
            });
        }
        finally
        {
            foreach (var (call, _, _) in results)
            {
                call.Dispose();
            }
        }
    }

    [Test]
    public async Task MegabyteFields_NeitherLoggedWholeNorEchoed()
    {
        var huge = new string('x', 1024 * 1024);
        var hellos = new[]
        {
            Hello("big-ns", routingKey: "k", change: h => h.Namespace = huge),
            Hello("big-version", routingKey: "k", change: h => h.AgentVersion = huge),
            Hello("big-secret", routingKey: "k", change: h => h.Secret = huge),
            Hello("big-service", routingKey: "k", change: h => h.Spec.Service = huge),
            Hello("big-key", routingKey: huge),
        };
        var refusals = new List<RpcException>();
        foreach (var hello in hellos)
        {
            refusals.Add(await RefusedAsync(hello));
        }

        Assert.Multiple(() =>
        {
            Assert.That(refusals.Select(e => e.StatusCode), Has.All.EqualTo(StatusCode.InvalidArgument));
            Assert.That(refusals.Select(e => e.Status.Detail.Length), Has.All.LessThan(200), "no status echoes a megabyte");
            Assert.That(_log.Events.Select(e => e.Text.Length), Has.All.LessThan(1000), "no log line holds a megabyte");
            Assert.That(refusals.Select(e => e.Status.Detail), Has.None.Contains(new string('x', 65)));
        });
    }

    [Test]
    public async Task EscapesAndLineBreaksInFields_CannotForgeLogLines()
    {
        var refusal = await RefusedAsync(Hello("forged", routingKey: "k", change: h => h.Namespace = "shop" + Forged));
        await using (var agent = await ConnectAsync(Hello("versioned", routingKey: "versioned", change: h => h.AgentVersion = "1.0" + Forged)))
        {
            await agent.GoodbyeAsync();
        }

        var plain = _log.Render(new MessageTemplateTextFormatter(ServerHost.PlainLogTemplate));
        var brokerEvents = _log.Events.Where(e => e.EventId is 7100 or 7107).Select(e => e.Text).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(refusal.Status.Detail, Does.Not.Contain("\u001b").And.Not.Contain("\n").And.Not.Contain("\r"));
            Assert.That(brokerEvents, Has.Length.EqualTo(2), string.Join("\n", brokerEvents));
            Assert.That(brokerEvents, Has.All.Contain("[12:00:00 INF] forged"), "the client's text is there, defused");
            Assert.That(brokerEvents, Has.None.Contain("\u001b").And.None.Contain("\r").And.None.Contain("\n"));
            Assert.That(plain.Split('\n').Where(line => line.StartsWith("[12:00:00 INF] forged", StringComparison.Ordinal)), Is.Empty, "no forged line in the plain log");
        });
    }

    [Test]
    public async Task FirstFrameNotHello_Refused()
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Host.TunnelPort}");
        using var call = new TunnelBroker.TunnelBrokerClient(channel).Connect();
        await call.RequestStream.WriteAsync(new Frame { Ping = new Ping { Id = 1 } });
        var refusal = Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Timeout))!;
        Assert.That((refusal.StatusCode, refusal.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, "the first frame must be Hello, got Ping")));
    }

    /// <summary>
    /// A stream that never sends its Hello is refused once <c>Tunnel:HelloTimeout</c> passes. The timeout is 0.3 s, on a
    /// host of its own: the fixture's host keeps the default, so a Hello that is merely slow to arrive (a megabyte field
    /// on a loaded machine) is never refused by it.
    /// </summary>
    [Test]
    public async Task NoHello_RefusedWhenTheHelloTimeoutPasses()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await new InProcessServer().WithManifests(_directory).WithLog(_log).With("Tunnel:HelloTimeout", TimeSpan.FromMilliseconds(300)).StartAsync(cancel.Token);
        var before = await MetricAsync("tunnel_broker_refusals_total{reason=\"hello_timeout\"}", host);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.TunnelPort}");
        using var call = new TunnelBroker.TunnelBrokerClient(channel).Connect();
        var refusal = Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Timeout))!;
        Assert.Multiple(async () =>
        {
            Assert.That((refusal.StatusCode, refusal.Status.Detail), Is.EqualTo((StatusCode.DeadlineExceeded, "no Hello within 0.3 s")));
            Assert.That(await MetricAsync("tunnel_broker_refusals_total{reason=\"hello_timeout\"}", host) - before, Is.EqualTo(1));
        });
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task AgentThatNeverReads_EndedWithResourceExhausted_OthersKeepWorking()
    {
        await using var echo = new EchoServer();
        await using var other = await ConnectAsync(Hello("other", routingKey: "other"), echo.Port);
        _log.Expect("does not read");
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Host.TunnelPort}");
        using var call = new TunnelBroker.TunnelBrokerClient(channel).Connect();
        await call.RequestStream.WriteAsync(new Frame { Hello = Hello("deaf", routingKey: "deaf") });
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None), Is.True, "welcomed");

        // Pings, never reading the Pongs: they fill the HTTP/2 window, then the broker's queue of answers.
        var ended = false;
        for (var i = 0; i < 200_000 && !ended; i++)
        {
            try
            {
                await call.RequestStream.WriteAsync(new Frame { Ping = new Ping { Id = (ulong)i } });
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException or IOException)
            {
                ended = true;
            }
        }

        RpcException? status = null;
        try
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Timeout))
            {
            }
        }
        catch (RpcException e)
        {
            status = e;
        }

        // The broker ends the call with RESOURCE_EXHAUSTED; the agent, whose window is full, may see only the stream reset.
        await Eventually.WaitAsync(() => _log.Contains("the agent does not read the broker's frames"), "the broker to end the stream");
        Assert.Multiple(async () =>
        {
            Assert.That(status, Is.Not.Null, "the stream ended with a status");
            Assert.That(_log.Events.Select(e => e.Text), Has.Some.Contains("ResourceExhausted").And.Contains("the agent does not read the broker's frames"));
            Assert.That(await EchoThroughAsync(other), Is.EqualTo("ping"), "the other agent's tunnel still carries");
        });
    }

    [Test]
    public async Task Metrics_AfterTraffic_OnTheMetricsEndpoint()
    {
        var before = await MetricsAsync();
        await using var echo = new EchoServer();
        await using (var agent = await ConnectAsync(Hello("metered", routingKey: "metered"), echo.Port))
        {
            Assert.That(await EchoThroughAsync(agent), Is.EqualTo("ping"));
            _log.Expect("which was never opened");
            await agent.SendRawAsync(new Frame { Data = new Data { ConnectionId = 999_999, Payload = Google.Protobuf.ByteString.CopyFromUtf8("junk") } });
            await Eventually.WaitAsync(async () => await MetricAsync("tunnel_broker_frames_dropped_total") > before.GetValueOrDefault("tunnel_broker_frames_dropped_total"), "the dropped frame counted");
            var during = await MetricsAsync();
            Assert.That(during["tunnel_broker_agents_attached"] - before.GetValueOrDefault("tunnel_broker_agents_attached"), Is.EqualTo(1));
            await agent.GoodbyeAsync();
        }

        await RefusedAsync(Hello("Bad!", routingKey: "k"));
        await Eventually.WaitAsync(() => Metrics.AgentsAttached == 0, "the agent detached");
        var after = await MetricsAsync();
        Assert.Multiple(() =>
        {
            Assert.That(Delta("tunnel_broker_bytes_total{direction=\"to_laptop\"}"), Is.GreaterThanOrEqualTo(4));
            Assert.That(Delta("tunnel_broker_bytes_total{direction=\"from_laptop\"}"), Is.GreaterThanOrEqualTo(4));
            Assert.That(Delta("tunnel_broker_frames_dropped_total"), Is.EqualTo(1));
            Assert.That(Delta("tunnel_broker_refusals_total{reason=\"bad_hello\"}"), Is.EqualTo(1));
            Assert.That(Delta("tunnel_broker_agents_attached"), Is.Zero);
            Assert.That(Delta("tunnel_broker_connections_open"), Is.Zero);
            Assert.That(after.Keys.Where(k => k.StartsWith("tunnel_broker_", StringComparison.Ordinal)), Has.None.Contains("metered"), "no label names a workload");
        });

        double Delta(string series) => after.GetValueOrDefault(series) - before.GetValueOrDefault(series);
    }

    /// <summary>A Hello for LocalWorkload shop/<paramref name="name"/> standing in for echo:8080, changed by <paramref name="change"/>.</summary>
    internal static Hello Hello(string name, string routingKey, string? session = null, Action<Hello>? change = null)
    {
        var hello = TunnelTestAgent.Hello("shop", name, "echo", [8080], routingKey: routingKey, session: session ?? $"s{Interlocked.Increment(ref _session).ToString(CultureInfo.InvariantCulture)}");
        change?.Invoke(hello);
        return hello;
    }

    private Task<TunnelTestAgent> ConnectAsync(Hello hello, int localPort = 1) =>
        TunnelTestAgent.ConnectAsync(Host.TunnelPort, hello, new Dictionary<int, int> { [8080] = localPort });

    private Task<RpcException> RefusedAsync(Hello hello)
    {
        _log.Expect("Refused an agent");
        return Task.FromResult(Assert.ThrowsAsync<RpcException>(async () => await (await ConnectAsync(hello)).DisposeAsync())!);
    }

    /// <summary>Sends <paramref name="hello"/> on a new stream of <paramref name="client"/>: the Welcome, or the refusal.</summary>
    internal static async Task<(AsyncDuplexStreamingCall<Frame, Frame> Call, Welcome? Welcome, RpcException? Refusal)> TryHelloAsync(TunnelBroker.TunnelBrokerClient client, Hello hello)
    {
        var call = client.Connect();
        try
        {
            await call.RequestStream.WriteAsync(new Frame { Hello = hello });
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException or OperationCanceledException)
        {
            // The broker refused the stream before reading the Hello: its status follows.
        }

        try
        {
            return await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Timeout)
                ? (call, call.ResponseStream.Current.Welcome, null)
                : (call, null, null);
        }
        catch (RpcException e)
        {
            return (call, null, e);
        }
    }

    /// <summary>Sends back every byte each connection sends (the laptop's service).</summary>
    internal sealed class EchoServer : LoopbackTcpServer
    {
        protected override async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                var stream = client.GetStream();
                var buffer = new byte[4096];
                int read;
                while ((read = await stream.ReadAsync(buffer)) > 0)
                {
                    await stream.WriteAsync(buffer.AsMemory(0, read));
                }
            }
        }
    }

    /// <summary>Sends "ping" to the agent's broker port (as a data plane would) and reads what comes back through the tunnel.</summary>
    private static async Task<string> EchoThroughAsync(TunnelTestAgent agent)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cancel = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, (int)agent.Welcome.Endpoints.Single().BrokerPort), cancel.Token);
        await socket.SendAsync("ping"u8.ToArray(), cancel.Token);
        var buffer = new byte[4];
        var received = 0;
        while (received < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(received), cancel.Token);
            if (read == 0)
            {
                break;
            }

            received += read;
        }

        return System.Text.Encoding.ASCII.GetString(buffer, 0, received);
    }

    private async Task<double> MetricAsync(string series, ServerHost? host = null) => (await MetricsAsync(host)).GetValueOrDefault(series);

    /// <summary>The samples <c>/metrics</c> serves now, by series (name and labels as written).</summary>
    private async Task<Dictionary<string, double>> MetricsAsync(ServerHost? host = null)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{(host ?? Host).AdminPort}/metrics")).WaitAsync(Timeout);
        return text.Split('\n')
            .Select(line => Sample().Match(line))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^(tunnel_broker_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$")]
    private static partial Regex Sample();
}
