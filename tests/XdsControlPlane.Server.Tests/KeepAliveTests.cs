using System.Net;
using System.Net.Sockets;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The xDS listener's HTTP/2 keepalive: a client that goes silent (a dead peer behind a NAT, a frozen VM) does not
/// answer the server's ping, so its connection is closed and its stream leaves the registry.
/// </summary>
public sealed class KeepAliveTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly HostLog _log = new();

    [Test]
    public async Task SilentClient_DoesNotAnswerThePing_ItsStreamIsClosedAndLeavesTheRegistry()
    {
        using var cancel = new CancellationTokenSource(Timeout);

        // Kestrel's smallest delay (1 s; it checks once a second): the test takes a few seconds, not 50.
        await using var host = new InProcessServer()
            .With("Server:KeepAlivePingDelay", TimeSpan.FromSeconds(1))
            .With("Server:KeepAlivePingTimeout", TimeSpan.FromSeconds(1))
            .WithLog(_log)
            .Create();
        await host.StartAsync(cancel.Token);
        StaticSnapshot.PublishTo(host, "sidecar");
        await using var proxy = await FreezableProxy.StartAsync(host.XdsPort);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{proxy.Port}");
        using var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: cancel.Token);
        var node = new Node { Id = "silent", Cluster = "c", Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("sidecar") } } };
        await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = TypeUrls.Cluster }, cancel.Token);
        Assert.That(await call.ResponseStream.MoveNext(cancel.Token), Is.True);
        Assert.That(host.Clients.Clients.Select(c => c.Node.Id), Is.EqualTo(new[] { "silent" }));

        proxy.FreezeClientToServer();   // from now on the server hears nothing: no ping ACK, no frame at all

        var ended = await EndAsync(call.ResponseStream, cancel.Token);
        Assert.Multiple(() =>
        {
            Assert.That(ended, Is.True, "the client's stream ended when the server closed the connection");
            Assert.That(host.Clients.Clients, Is.Empty, "the silent client left the registry");
        });
        await host.StopAsync(cancel.Token);
        _log.AssertNoUnexpectedWarnings();
    }

    /// <summary>Reads until the stream ends (normally or with an error); false if the test's time ran out first.</summary>
    private static async Task<bool> EndAsync(Grpc.Core.IAsyncStreamReader<DiscoveryResponse> responses, CancellationToken cancellationToken)
    {
        try
        {
            while (await responses.MoveNext(cancellationToken))
            {
            }

            return true;
        }
        catch (Grpc.Core.RpcException e) when (e.StatusCode != Grpc.Core.StatusCode.Cancelled)
        {
            return true;
        }
        catch (Grpc.Core.RpcException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// A TCP proxy on loopback for one connection that can stop forwarding the client's bytes (the connection stays
    /// open, the server's bytes still reach the client): a peer that went silent without closing.
    /// </summary>
    private sealed class FreezableProxy : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly int _target;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _accepting;
        private volatile bool _frozen;

        private FreezableProxy(TcpListener listener, int target)
        {
            _listener = listener;
            _target = target;
            _accepting = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static Task<FreezableProxy> StartAsync(int target)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return Task.FromResult(new FreezableProxy(listener, target));
        }

        public void FreezeClientToServer() => _frozen = true;

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            using var server = new TcpClient();
            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            var (fromClient, toServer) = (client.GetStream(), server.GetStream());
            var up = CopyAsync(fromClient, toServer, () => _frozen);
            var down = CopyAsync(server.GetStream(), client.GetStream(), () => false);
            await Task.WhenAny(up, down);
            client.Client.Shutdown(SocketShutdown.Both); // the server closed: so does the client's side
        }

        private async Task CopyAsync(NetworkStream from, NetworkStream to, Func<bool> drop)
        {
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                if (!drop())
                {
                    await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
                }
            }
        }
    }
}
