using System.Net;
using System.Net.Sockets;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Sources;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// Connection floods (issue 25: about 19,800 preface-only connections exhausted the process's file descriptors and
/// killed it): a peer's connections per listener are capped, connections that send no request are closed after the
/// first-request timeout, and the budget of every listener together leaves file descriptors for the rest of the process.
/// The flood comes from real sockets sending the HTTP/2 client preface and nothing else; legitimate clients are real
/// gRPC clients from other loopback addresses (Linux routes all of 127/8 to loopback).
/// </summary>
public sealed class ConnectionFloodTests
{
    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Test]
    public async Task IdleFloodFromOnePeer_OverItsLimitIsClosedAtOnce_TheRestAfterTheTimeout_AndOthersAreServed()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var log = new HostLog();
        await using var host = await new InProcessServer().WithLog(log)
            .With("Connections:MaxPerPeer", 50)
            .With("Connections:FirstRequestTimeout", TimeSpan.FromSeconds(2))
            .StartAsync(cancel.Token);
        StaticSnapshot.PublishTo(host, "sidecar");

        var flood = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => OpenPrefaceOnlyAsync(IPAddress.Loopback, host.XdsPort, cancel.Token)));
        var answered = await Task.WhenAll(flood.Select(s => FirstReadAsync(s, cancel.Token)));
        var served = await RequestClustersAsync(IPAddress.Parse("127.0.0.2"), host.XdsPort, cancel.Token);
        var closedLater = await Task.WhenAll(flood.Where((_, i) => answered[i] > 0).Select(s => ReadUntilClosedAsync(s, cancel.Token)));
        // The client sees a connection closed before the server has counted it out of the peer's connections, so a
        // redial at once may still meet the limit (reset at once, as a flood connection is): the address must be served
        // again once the server is done with its closed connections, not at the same instant.
        string[] servedAfter = [];
        await Eventually.WaitAsync(
            async () =>
            {
                try
                {
                    servedAfter = await RequestClustersAsync(IPAddress.Loopback, host.XdsPort, cancel.Token);
                    return true;
                }
                catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unavailable)
                {
                    return false;
                }
            },
            () => "the flooding address to be served again once its connections were closed");
        var metrics = await new HttpClient().GetStringAsync(new Uri($"http://127.0.0.1:{host.AdminPort}/metrics"), cancel.Token);
        foreach (var socket in flood)
        {
            socket.Dispose();
        }

        await host.StopAsync(cancel.Token);
        log.Expect("the peer holds 50 already");
        log.Expect("sent no request within");
        Assert.Multiple(() =>
        {
            Assert.That(answered.Count(read => read > 0), Is.EqualTo(50), "the server answered the preface of 50 connections (its SETTINGS)");
            Assert.That(answered.Count(read => read <= 0), Is.EqualTo(10), "and closed the 10 over the peer's limit at once");
            Assert.That(served, Is.Not.Empty, "a client from another address is served during the flood");
            Assert.That(closedLater, Has.All.True, "every silent connection is closed after the first-request timeout");
            Assert.That(servedAfter, Is.Not.Empty, "and then the flooding address may connect again");
            Assert.That(metrics, Does.Match("server_connections_refused_total\\{listener=\"xds\",reason=\"per_peer\"\\} [1-9]"));
            Assert.That(metrics, Does.Match("server_connections_closed_without_request_total\\{listener=\"xds\"\\} [1-9]"));
            Assert.That(log.Events.Count(e => e.EventId == 1200), Is.EqualTo(1), "one line for the refusals, not one per connection");
        });
        log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task FloodBeyondTheOpenFileLimit_TheProcessLives_ReloadsManifests_AndServesAClient()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var manifests = Directory.CreateTempSubdirectory("xdscp-flood-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(manifests.FullName, "shop.yaml"), Service("cart"), cancel.Token);

            // 1,024 open files: a budget of 512 connections. Ten addresses with 300 connections each over the xDS and
            // tunnel ports ask for 6,000, far beyond what the process could open.
            await using var server = await ServerProcess.StartAsync(
                ["--manifests", manifests.FullName],
                new Dictionary<string, string> { ["XDSCP_Connections__MaxPerPeer"] = "200", ["XDSCP_Connections__FirstRequestTimeout"] = "00:00:05" },
                openFileLimit: 1024);
            var flood = new List<Socket>();
            for (var peer = 10; peer < 20; peer++)
            {
                foreach (var port in (int[])[server.XdsPort, server.TunnelPort])
                {
                    flood.AddRange(await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => OpenPrefaceOnlyAsync(IPAddress.Parse($"127.0.0.{peer}"), port, cancel.Token))));
                }
            }

            await File.WriteAllTextAsync(Path.Combine(manifests.FullName, "shop.yaml"), Service("cart") + "---\n" + Service("checkout"), cancel.Token);
            await Eventually.WaitAsync(() => Task.FromResult(server.Said("2 Services")), () => "the manifest reload during the flood; the server said:\n" + server.Output(), TimeSpan.FromSeconds(30));
            foreach (var socket in flood)
            {
                socket.Dispose();
            }

            var served = await RequestClustersAsync(IPAddress.Parse("127.0.0.2"), server.XdsPort, cancel.Token, role: "gateway");

            Assert.Multiple(() =>
            {
                Assert.That(server.Running, Is.True, "the process lives");
                Assert.That(server.Output(), Does.Not.Contain("Too many open files"));
                Assert.That(server.Output(), Does.Contain("budget of 512 connections"));
                Assert.That(served, Is.Not.Empty, "a client is served after the flood");
            });
        }
        finally
        {
            manifests.Delete(recursive: true);
        }
    }

    [Test]
    public async Task RawLanes_AreNotSilentConnections_OutliveTheFirstRequestTimeout_AndCarryBytes()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var directory = Directory.CreateTempSubdirectory("xdscp-raw-gate-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "shop.yaml"), Service("echo"), cancel.Token);
            var log = new HostLog();
            await using var host = await new InProcessServer().WithManifests(directory).WithLog(log)
                .With("Connections:FirstRequestTimeout", TimeSpan.FromSeconds(1))
                .StartAsync(cancel.Token);
            await Eventually.WaitAsync(() => host.Services.GetRequiredService<RoutingInputsStore>().Current?.FindService("shop", "echo") is not null, "the manifests to load");
            await using var echo = new BrokerAdmissionTests.EchoServer();
            var agent = await TunnelTestAgent.ConnectAsync(host.TunnelPort, TunnelTestAgent.Hello("shop", "raw-gate", "echo", [8080], routingKey: "raw-gate"), new Dictionary<int, int> { [8080] = echo.Port }, lanes: 3, cancellationToken: cancel.Token, rawLanes: true);
            await using (agent)
            {
                var metrics = host.Services.GetRequiredService<BrokerMetrics>();
                await Eventually.WaitAsync(() => agent.Multiplexer.ExtraLanes == 3 && metrics.RawLaneConnections == 3, "the agent's three lanes to attach as raw lanes");

                // A silent connection opened after the lanes: once the gate has closed it, the lanes' first-request timeouts
                // have passed as well.
                using (var silent = await OpenPrefaceOnlyAsync(IPAddress.Loopback, host.TunnelPort, cancel.Token))
                {
                    Assert.That(await ReadUntilClosedAsync(silent, cancel.Token), Is.True, "the silent connection is closed by the gate");
                }

                await BrokerAdmissionTests.EchoOverConnectionsAsync(agent, 3, 200_000, () => Assert.Multiple(() =>
                {
                    Assert.That(metrics.RawLaneConnections, Is.EqualTo(3), "the raw lanes outlived the first-request timeout");
                    Assert.That(agent.Multiplexer.Lanes.Where(l => l.Raw).Sum(l => l.OpenConnections), Is.EqualTo(3), "the connections went over them");
                }));
                Assert.That(metrics.RawLaneConnections, Is.EqualTo(3), "and the raw lanes are still there after carrying them");
            }

            log.Expect("sent no request within");
            await host.StopAsync(cancel.Token);
            log.AssertNoUnexpectedWarnings();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static string Service(string name) =>
        $"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n  ports: [{{name: http, port: 8080}}]\n";

    /// <summary>A TCP connection from <paramref name="from"/> that sends the HTTP/2 client preface and then nothing.</summary>
    private static async Task<Socket> OpenPrefaceOnlyAsync(IPAddress from, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(from, 0));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken);
            await socket.SendAsync(Preface, cancellationToken);
        }
        catch (SocketException)
        {
            // Refused or closed before the preface went out: what a flood may meet.
        }

        return socket;
    }

    /// <summary>The bytes of the first read (the server's SETTINGS when admitted), or 0 when the server closed the connection.</summary>
    private static async Task<int> FirstReadAsync(Socket socket, CancellationToken cancellationToken)
    {
        try
        {
            return await socket.ReceiveAsync(new byte[256], cancellationToken);
        }
        catch (SocketException)
        {
            return 0;
        }
    }

    /// <summary>Reads until the server closes the connection; true when it did.</summary>
    private static async Task<bool> ReadUntilClosedAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, cancellationToken) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    /// <summary>The cluster names an ADS client connecting from <paramref name="from"/> receives.</summary>
    private static async Task<string[]> RequestClustersAsync(IPAddress from, int port, CancellationToken cancellationToken, string role = "sidecar")
    {
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancel) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(from, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancel);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler });
        using var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: cancellationToken);
        var node = new Node { Id = $"legitimate-{from}", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString(role) } } };
        await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = TypeUrls.Cluster }, cancellationToken);
        Assert.That(await call.ResponseStream.MoveNext(cancellationToken), Is.True);
        return [.. call.ResponseStream.Current.Resources.Select(r => r.Unpack<global::Envoy.Config.Cluster.V3.Cluster>().Name)];
    }
}
