using System.Net;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using XdsControlPlane.Sources;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>The host on real loopback sockets.</summary>
public sealed class ServerHostTests
{
    private readonly HostLog _log = new();

    [SetUp]
    public void ForgetLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Test]
    public async Task Start_WithFreePorts_ServesHealthzOnAdminListenerOnly()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer().WithLog(_log).Create();
        await host.StartAsync(cancel.Token);
        using var http1 = new HttpClient();
        using var http2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        var admin = await http1.GetAsync(new Uri($"http://127.0.0.1:{host.AdminPort}/healthz"), cancel.Token);
        var metrics = await http1.GetStringAsync(new Uri($"http://127.0.0.1:{host.AdminPort}/metrics"), cancel.Token);
        var onXdsPort = await http2.GetAsync(new Uri($"http://127.0.0.1:{host.XdsPort}/healthz"), cancel.Token);

        Assert.Multiple(async () =>
        {
            Assert.That(host.XdsPort, Is.Not.Zero.And.Not.EqualTo(host.AdminPort));
            Assert.That(admin.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await admin.Content.ReadAsStringAsync(cancel.Token), Is.EqualTo("ok\n"));
            Assert.That(onXdsPort.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(metrics, Does.Contain("# TYPE xds_connected_streams gauge").And.Contain("# TYPE xds_snapshot_to_ack_seconds histogram"));
        });
        await host.StopAsync(cancel.Token);
    }

    /// <summary>
    /// Each listener answers only its own endpoints, whatever protocol it speaks: an admin listener that also speaks
    /// HTTP/2 does not serve ADS, and the xDS listener does not serve <c>/healthz</c>.
    /// </summary>
    [Test]
    public async Task Start_SecondHttp2ListenerTaggedAdmin_ServesHealthzButNotAdsAndTheXdsPortTheReverse()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? adminHttp2 = null;
        await using var host = new InProcessServer()
            .WithServices(services => services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2;
                ListenerKind.Tag(listen, ListenerKind.Admin);
                adminHttp2 = listen;
            })))
            .Create();
        await host.StartAsync(cancel.Token);
        StaticSnapshot.PublishTo(host, "sidecar");
        using var http2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var adminPort = adminHttp2!.IPEndPoint!.Port;

        var healthOnAdmin = await http2.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/healthz"), cancel.Token);
        var healthOnXds = await http2.GetAsync(new Uri($"http://127.0.0.1:{host.XdsPort}/healthz"), cancel.Token);
        var adsOnAdmin = await FirstClusterResponseAsync(adminPort, cancel.Token);
        var adsOnXds = await FirstClusterResponseAsync(host.XdsPort, cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(healthOnAdmin.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(healthOnXds.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(adsOnAdmin, Is.EqualTo(Grpc.Core.StatusCode.Unimplemented), "ADS is not served on the admin listener");
            Assert.That(adsOnXds, Is.EqualTo(Grpc.Core.StatusCode.OK));
        });
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task Start_InvalidOptions_FailsWithEveryProblem()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer()
            .With("Admin:DebugToken", "short")
            .With("Translation:GatewayPort", 0)
            .Create();

        var failure = Assert.CatchAsync(async () => await host.StartAsync(cancel.Token));

        Assert.That(ServerHost.OptionsProblems(failure!), Has.Some.Contains("DebugToken").And.Some.Contains("GatewayPort"));
    }

    [Test]
    public void Create_ManifestsAndKubernetesFromTheEnvironmentOrFile_RefusedNamingBoth()
    {
        // The command line refuses --manifests with --kubernetes; settings from a file or the environment are refused too.
        var failure = Assert.Catch(() => new InProcessServer()
            .With("Manifests:Directory", RepoDirectory.Path("examples", "shop"))
            .With("Kubernetes:Enabled", true)
            .Create());

        Assert.That(ServerHost.OptionsProblems(failure!), Has.Some.Contains("alternative sources"));
    }

    [Test]
    public async Task Start_InvalidServerSetting_FailsWithTheProblemNotACrash()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer()
            .With("Server:KeepAlivePingDelay", "00:00:00.5")
            .Create();

        var failure = Assert.CatchAsync(async () => await host.StartAsync(cancel.Token));

        Assert.That(ServerHost.OptionsProblems(failure!), Has.Some.Contains("KeepAlivePingDelay"));
    }

    /// <summary>The status of the first CDS response over ADS on <paramref name="port"/> (OK when one came).</summary>
    private static async Task<Grpc.Core.StatusCode> FirstClusterResponseAsync(int port, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        using var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: cancellationToken);
        try
        {
            await call.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.Cluster, Node = new Node { Id = "n", Cluster = "c" } }, cancellationToken);
            return await call.ResponseStream.MoveNext(cancellationToken) ? Grpc.Core.StatusCode.OK : Grpc.Core.StatusCode.Unknown;
        }
        catch (Grpc.Core.RpcException e)
        {
            return e.StatusCode;
        }
        catch (InvalidOperationException)
        {
            // The call ended before the request was written.
            return call.GetStatus().StatusCode;
        }
    }

    /// <summary>
    /// A component that fails stops the host (BackgroundServiceExceptionBehavior.StopHost); the host says so, and the
    /// process then exits 3, not 0, so a supervisor restarts it (Program.cs).
    /// </summary>
    [Test]
    public async Task Run_ComponentFails_StopsAndReportsFaulted()
    {
        _log.Expect("a component failed");
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer()
            .WithLog(_log)
            .WithServices(services => services.AddHostedService<FailingComponent>())
            .Create();

        await host.RunAsync(cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(cancel.IsCancellationRequested, Is.False, "the host stopped by itself");
            Assert.That(host.Faulted, Is.True);
        });
    }

    [Test]
    public async Task Run_StoppedNormally_NotFaulted()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await using var host = new InProcessServer().WithLog(_log).Create();

        await host.RunAsync(cancel.Token);

        Assert.That(host.Faulted, Is.False);
    }

    [Test]
    public async Task Start_PortAlreadyInUse_Throws()
    {
        _log.Expect("address already in use");
        using var cancel = new CancellationTokenSource(Timeout);
        await using var first = new InProcessServer().WithLog(_log).Create();
        await first.StartAsync(cancel.Token);
        await using var second = new InProcessServer().With("Admin:Port", first.AdminPort).WithLog(_log).Create();

        Assert.That(async () => await second.StartAsync(cancel.Token), Throws.InstanceOf<IOException>());
        await first.StopAsync(cancel.Token);
    }

    [Test]
    public async Task Start_XdsPort_ServesAdsFromTheSnapshotCache()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer().WithLog(_log).Create();
        await host.StartAsync(cancel.Token);

        // The server's own first publication (the empty manifest directory) would replace the snapshot set below.
        await Eventually.WaitAsync(() => host.Services.GetRequiredService<RoutingInputsStore>().Current is not null, "the first publication");
        var cluster = new Cluster
        {
            Name = "static",
            Type = Cluster.Types.DiscoveryType.Static,
            ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        };
        var update = host.Snapshots.SetSnapshot("gateway", Snapshot.Create([XdsResource.Create(cluster)]));
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        using var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: cancel.Token);

        await call.RequestStream.WriteAsync(new DiscoveryRequest
        {
            TypeUrl = TypeUrls.Cluster,
            Node = new Node { Id = "gw-1", Cluster = "edge", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("gateway") } } },
        }, cancel.Token);
        Assert.That(await call.ResponseStream.MoveNext(cancel.Token), Is.True);
        var response = call.ResponseStream.Current;

        Assert.Multiple(() =>
        {
            Assert.That(update.Accepted, Is.True);
            Assert.That(response.Resources.Single().Unpack<Cluster>().Name, Is.EqualTo("static"));
            Assert.That(host.Clients.Clients.Single().Group, Is.EqualTo("gateway"));
        });
        await call.RequestStream.CompleteAsync();
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task Start_MaxRequestBytes_LimitsXdsRequests()
    {
        _log.Expect("MaxRequestBytes");
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer().WithLog(_log).With("Xds:MaxRequestBytes", 128 * 1024).Create();
        await host.StartAsync(cancel.Token);
        StaticSnapshot.PublishTo(host, "sidecar");
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");

        var small = await FirstResponseStatusAsync(channel, metadataBytes: 100_000, cancel.Token);
        var large = await FirstResponseStatusAsync(channel, metadataBytes: 200_000, cancel.Token);

        Assert.That((small, large), Is.EqualTo((Grpc.Core.StatusCode.OK, Grpc.Core.StatusCode.ResourceExhausted)));
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task DebugSnapshot_WhileTheGateIsFull_Answers429WithRetryAfterAndHealthStaysUp()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer().WithLog(_log).Create();
        await host.StartAsync(cancel.Token);
        StaticSnapshot.PublishTo(host, "gateway");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };
        var gate = host.Services.GetRequiredService<DebugRequestGate>();

        // Two requests in flight hold the two slots.
        var running = Enumerable.Range(0, DebugRequestGate.DefaultLimit).Select(_ => gate.TryEnter()).ToArray();
        var refused = await http.GetAsync(new Uri("/debug/snapshot", UriKind.Relative), cancel.Token);
        var healthz = await http.GetAsync(new Uri("/healthz", UriKind.Relative), cancel.Token);
        var readyz = await http.GetAsync(new Uri("/readyz", UriKind.Relative), cancel.Token);
        var metrics = await http.GetAsync(new Uri("/metrics", UriKind.Relative), cancel.Token);
        foreach (var slot in running)
        {
            slot?.Dispose();
        }

        var served = await http.GetAsync(new Uri("/debug/snapshot?resources=false", UriKind.Relative), cancel.Token);

        Assert.Multiple(async () =>
        {
            Assert.That(running, Has.All.Not.Null);
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(refused.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(await refused.Content.ReadAsStringAsync(cancel.Token), Is.EqualTo("too many /debug requests: at most 2 run at once; retry after 1 s\n"));
            Assert.That((healthz.StatusCode, readyz.StatusCode, metrics.StatusCode), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)), "health, readiness and metrics do not wait for /debug");
            Assert.That(served.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a freed slot serves the next request");
            Assert.That(served.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json; charset=utf-8"));
            Assert.That(() => AllSlotsFree(gate), Is.True.After(5000, 20), "the served request gave its slot back");
        });
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task Readyz_BeforeAndAfterFirstSnapshot_503Then200AndDebugSnapshotShowsIt()
    {
        using var cancel = new CancellationTokenSource(Timeout);

        // A source that has not read yet holds the first publication (the pipeline publishes once every source has), so
        // "before" is before any snapshot whatever the machine's speed; the empty manifests source alone publishes at once.
        await using var host = new InProcessServer().WithLog(_log).Create();
        var unread = host.Services.GetRequiredService<SourcePipeline>().Register("a source that has not read yet");
        await host.StartAsync(cancel.Token);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };

        var before = await http.GetAsync(new Uri("/readyz", UriKind.Relative), cancel.Token);
        var cluster = StaticSnapshot.StaticCluster();
        host.Snapshots.SetSnapshot("gateway", Snapshot.Create([XdsResource.Create(cluster)]));
        var after = await http.GetAsync(new Uri("/readyz", UriKind.Relative), cancel.Token);
        var debug = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(new Uri("/debug/snapshot?group=gateway", UriKind.Relative), cancel.Token))!;

        Assert.Multiple(() =>
        {
            Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((string?)debug["groups"]!["gateway"]!["version"], Is.EqualTo(host.Snapshots.GetSnapshot("gateway")!.Snapshot.Version));
            Assert.That((string?)debug["groups"]!["gateway"]!["resources"]!["CDS"]!["static"]!["resource"]!["name"], Is.EqualTo("static"));
        });
        unread.MarkSynced();
        await host.StopAsync(cancel.Token);
    }

    /// <summary>Whether every slot of <paramref name="gate"/> can be taken (they are given back at once).</summary>
    private static bool AllSlotsFree(DebugRequestGate gate)
    {
        var slots = Enumerable.Range(0, gate.Limit).Select(_ => gate.TryEnter()).ToArray();
        foreach (var slot in slots)
        {
            slot?.Dispose();
        }

        return slots.All(s => s is not null);
    }

    /// <summary>Sends one CDS request whose node carries <paramref name="metadataBytes"/> of metadata: OK when a response came, else the call's status.</summary>
    private static async Task<Grpc.Core.StatusCode> FirstResponseStatusAsync(GrpcChannel channel, int metadataBytes, CancellationToken cancellationToken)
    {
        using var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: cancellationToken);
        var node = new Node { Id = "big", Metadata = new Struct { Fields = { ["blob"] = Value.ForString(new string('x', metadataBytes)) } } };
        try
        {
            await call.RequestStream.WriteAsync(new DiscoveryRequest { TypeUrl = TypeUrls.Cluster, Node = node }, cancellationToken);
        }
        catch (Grpc.Core.RpcException)
        {
            // The server may end the call before the client has written it all; the status comes with the response stream.
        }

        try
        {
            Assert.That(await call.ResponseStream.MoveNext(cancellationToken), Is.True);
            await call.RequestStream.CompleteAsync();
            return Grpc.Core.StatusCode.OK;
        }
        catch (Grpc.Core.RpcException e)
        {
            return e.StatusCode;
        }
        catch (InvalidOperationException)
        {
            // The call ended before the request was written.
            return call.GetStatus().StatusCode;
        }
    }

    /// <summary>Fails once the host has started (failing during start-up would cancel Kestrel's bind instead).</summary>
    private sealed class FailingComponent(IHostApplicationLifetime lifetime) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
            await started.Task.WaitAsync(stoppingToken);
            throw new InvalidOperationException("a component failed");
        }
    }
}
