using System.Net;
using System.Net.Sockets;
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
/// The tunnel broker's limits, each on a host of its own (a host's log is the process's while it runs): the agent
/// limit; thousands of streams opened and dropped leave no agent, stream or workload behind; a right and a wrong token.
/// </summary>
[NonParallelizable]
public sealed class BrokerLimitsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private string _directory = "";

    [OneTimeSetUp]
    public async Task WriteManifestsAsync()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-limits-").FullName;
        await File.WriteAllTextAsync(Path.Combine(_directory, "inventory.yaml"), BrokerAdmissionTests.Inventory);
    }

    [OneTimeTearDown]
    public void DeleteManifests() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task ThousandsOfStreamsOpenedAndDropped_NothingLeft()
    {
        // Its own host: the limits per connection and address would refuse a burst faster than the broker notices drops.
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var log = new HostLog();
        await using var host = await new InProcessServer()
            .WithManifests(_directory)
            .WithLog(log)
            .With("Tunnel:MaxAgentsPerConnection", 1000)
            .With("Tunnel:MaxAgentsPerAddress", 0)
            .With("Tunnel:ReconnectGrace", TimeSpan.FromSeconds(1))
            .StartAsync(cancel.Token);
        var inputs = host.Services.GetRequiredService<RoutingInputsStore>();
        await Eventually.WaitAsync(() => inputs.Current?.FindService("shop", "echo") is not null, "the manifests to load");
        var metrics = host.Services.GetRequiredService<BrokerMetrics>();
        var broker = host.Services.GetRequiredService<TunnelBrokerService>();
        var tunnels = host.Services.GetRequiredService<WorkloadTunnels>();
        // 100 streams per HTTP/2 connection: Kestrel answers a client that resets many more streams on one connection with
        // ENHANCE_YOUR_CALM (its rapid-reset guard), which would end the connection, not test the broker.
        var channels = Enumerable.Range(0, 20).Select(_ => GrpcChannel.ForAddress($"http://127.0.0.1:{host.TunnelPort}")).ToArray();
        var welcomed = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 2000), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancel.Token }, async (i, token) =>
        {
            using var dropped = CancellationTokenSource.CreateLinkedTokenSource(token);
            using var call = new TunnelBroker.TunnelBrokerClient(channels[i / 100]).Connect(cancellationToken: dropped.Token);
            if (i % 2 == 0)
            {
                // Dropped before its Hello.
                await dropped.CancelAsync();
                return;
            }

            var name = $"churn-{i % 10}";
            try
            {
                await call.RequestStream.WriteAsync(new Frame { Hello = Hello(name, routingKey: name, session: name) }, token);
                if (await call.ResponseStream.MoveNext(token))
                {
                    Interlocked.Increment(ref welcomed);
                }
            }
            catch (RpcException)
            {
                // Ended by a newer stream of the same agent session that took over.
            }

            await dropped.CancelAsync();
        });

        await Eventually.WaitAsync(() => Task.FromResult((metrics.AgentsAttached, broker.OpenStreams, tunnels.Count) == (0, 0, 0)), () => $"no agent, stream or workload left (agents {metrics.AgentsAttached}, streams {broker.OpenStreams}, workloads {tunnels.Count})", Timeout);
        await host.StopAsync(cancel.Token);
        foreach (var channel in channels)
        {
            channel.Dispose();
        }

        TestContext.Out.WriteLine($"{welcomed} of 1000 Hellos welcomed");
        Assert.That(welcomed, Is.GreaterThan(0));
    }

    [Test]
    public async Task AgentLimit_RefusesTheAgentBeyondIt()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var log = new HostLog();
        await using var host = await new InProcessServer().WithManifests(_directory).WithLog(log).With("Tunnel:MaxAgents", 1).StartAsync(cancel.Token);
        var inputs = host.Services.GetRequiredService<RoutingInputsStore>();
        await Eventually.WaitAsync(() => inputs.Current?.FindService("shop", "echo") is not null, "the manifests to load");
        await using var first = await TunnelTestAgent.ConnectAsync(host.TunnelPort, Hello("first", routingKey: "first"), new Dictionary<int, int>());
        var refusal = Assert.ThrowsAsync<RpcException>(async () => await TunnelTestAgent.ConnectAsync(host.TunnelPort, Hello("second", routingKey: "second"), new Dictionary<int, int>()))!;
        await host.StopAsync(cancel.Token);
        Assert.Multiple(() =>
        {
            Assert.That((refusal.StatusCode, refusal.Status.Detail), Is.EqualTo((StatusCode.ResourceExhausted, "this replica serves 1 agents already")));
            Assert.That(inputs.Current?.FindLocalWorkload("shop", "second"), Is.Null, "nothing published for the refused agent");
        });
    }

    [Test]
    public async Task Token_RightOneAdmitted_WrongOneRefusedAndNothingPublished()
    {
        var address = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (address is null)
        {
            Prerequisite.Missing("this host has no address but loopback: an agent from another host cannot be simulated");
        }

        using var cancel = new CancellationTokenSource(Timeout);
        var log = new HostLog();
        var token = "s3cret-token-of-24-chars";
        await using var host = await new InProcessServer().WithManifests(_directory).WithLog(log)
            .With("Server:Loopback", false)
            .With("Tunnel:Token", token)
            .StartAsync(cancel.Token);
        var inputs = host.Services.GetRequiredService<RoutingInputsStore>();
        await Eventually.WaitAsync(() => inputs.Current?.FindService("shop", "echo") is not null, "the manifests to load");
        using var channel = GrpcChannel.ForAddress($"http://{address}:{host.TunnelPort}");
        var client = new TunnelBroker.TunnelBrokerClient(channel);

        var wrong = await TryHelloAsync(client, Hello("wrong", routingKey: "wrong", change: h => h.Secret = "not-the-token-at-all-xx"));
        var none = await TryHelloAsync(client, Hello("none", routingKey: "none"));
        var right = await TryHelloAsync(client, Hello("right", routingKey: "right", change: h => h.Secret = token));
        await Eventually.WaitAsync(() => inputs.Current?.FindLocalWorkload("shop", "right") is not null, "the admitted agent's LocalWorkload in force");
        right.Call.Dispose();
        wrong.Call.Dispose();
        none.Call.Dispose();
        await host.StopAsync(cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(right.Welcome, Is.Not.Null, right.Refusal?.Status.Detail);
            Assert.That((wrong.Refusal?.StatusCode, wrong.Refusal?.Status.Detail), Is.EqualTo(((StatusCode?)StatusCode.Unauthenticated, "wrong token: give the broker's --tunnel-token with sandboxctl local connect --token")));
            Assert.That(none.Refusal?.StatusCode, Is.EqualTo(StatusCode.Unauthenticated), "no token where one is required: missing credentials");
            Assert.That(inputs.Current?.FindLocalWorkload("shop", "wrong"), Is.Null, "nothing published for a wrong token");
            Assert.That(log.Render(new MessageTemplateTextFormatter("{Message}")), Does.Not.Contain(token), "the token is never logged");
        });
    }

    private static Task<(AsyncDuplexStreamingCall<Frame, Frame> Call, Welcome? Welcome, RpcException? Refusal)> TryHelloAsync(TunnelBroker.TunnelBrokerClient client, Hello hello) =>
        BrokerAdmissionTests.TryHelloAsync(client, hello);

    private static Hello Hello(string name, string routingKey, string? session = null, Action<Hello>? change = null) =>
        BrokerAdmissionTests.Hello(name, routingKey, session, change);
}
