using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// Which Services of other namespaces a Kubernetes-mode broker dials for an agent: those the LocalWorkload's
/// <c>spec.expose</c> lists (written with the developer's credentials, so RBAC decides) — never what the agent's Hello
/// claims. An agent whose Hello names a Service the object does not is refused that connection with
/// <c>CloseReason FORBIDDEN</c> and the reason, while the declared one and its own namespace's are reached.
/// </summary>
public sealed class LocalConnectExposeScopeTests
{
    private const string Secret = "the-secret-of-this-agents-run";
    private readonly HostLog _log = new();

    [Test]
    public async Task Outbound_ToAnotherNamespace_DeclaredInSpecExpose_IsReached_ClaimedOnlyInHello_IsForbidden()
    {
        await using var api = await FakeApiServer.StartAsync();
        using var billing = Banner("billing-orders");
        using var vault = Banner("vault-payments");
        using var shop = Banner("shop-stock");
        api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        foreach (var (ns, service, backend) in new[] { ("billing", "orders", billing), ("vault", "payments", vault), ("shop", "stock", shop) })
        {
            api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject(ns, service));
            api.Put(FakeApiServer.EndpointSlices, FakeApiServer.EndpointSliceObject(ns, service, ((IPEndPoint)backend.LocalEndpoint).Port));
        }

        // What sandboxctl local connect --expose orders.billing:8080=… creates with the developer's credentials.
        api.Put(FakeApiServer.LocalWorkloads, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "LocalWorkload",
            ["metadata"] = new JsonObject { ["name"] = "alice", ["namespace"] = "shop" },
            ["spec"] = new JsonObject
            {
                ["routingKey"] = "feature-x",
                ["service"] = "cart",
                ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }),
                ["expose"] = new JsonArray(new JsonObject { ["service"] = "orders.billing" }),
                ["secretHash"] = LocalWorkload.HashSecret(Secret),
            },
        });
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var host = await new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url).StartAsync(cancel.Token);
        var inputs = host.Services.GetRequiredService<RoutingInputsStore>();
        await Eventually.WaitAsync(() => inputs.Current is { } read && read.SlicesOf("vault", "payments").Count > 0 && read.SlicesOf("billing", "orders").Count > 0 && read.SlicesOf("shop", "stock").Count > 0, "the control plane to read the endpoints");

        // A hostile (or stale) agent: its Hello claims a Service of another namespace that the LocalWorkload does not list.
        var hello = TunnelTestAgent.Hello("shop", "alice", "cart", [8080], routingKey: "feature-x", secret: Secret);
        hello.Spec.Expose.AddRange(new[] { "orders.billing", "payments.vault" });
        await using var agent = await TunnelTestAgent.ConnectAsync(host.TunnelPort, hello, new Dictionary<int, int>());
        var refused = new TaskCompletionSource<(CloseReason Reason, string Message)>(TaskCreationOptions.RunContinuationsAsynchronously);
        agent.Multiplexer.ConnectionFailedAtPeer += (_, reason, message) => refused.TrySetResult((reason, message));

        using var declared = await agent.OpenOutboundAsync("orders.billing", 8080);
        using var own = await agent.OpenOutboundAsync("stock", 8080);
        var reachedDeclared = await ReadToEndAsync(declared);
        var reachedOwn = await ReadToEndAsync(own);
        using var claimed = await agent.OpenOutboundAsync("payments.vault", 8080);
        var (reason, message) = await refused.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var reachedClaimed = await ReadToEndAsync(claimed);

        Assert.Multiple(() =>
        {
            Assert.That(reachedDeclared, Is.EqualTo("billing-orders"), "declared in spec.expose");
            Assert.That(reachedOwn, Is.EqualTo("shop-stock"), "the workload's own namespace");
            Assert.That(reason, Is.EqualTo(CloseReason.Forbidden));
            Assert.That(message, Is.EqualTo("payments.vault: LocalWorkload shop/alice may reach the Services of namespace shop and those its spec.expose lists (sandboxctl local connect --expose NAME.NAMESPACE:PORT=LOCAL writes it)"));
            Assert.That(reachedClaimed, Is.Empty, "nothing of vault's payments reached the agent");
        });
        _log.AssertNoUnexpectedWarnings();
    }

    /// <summary>A loopback backend that writes <paramref name="banner"/> to each connection and closes it.</summary>
    private static TcpListener Banner(string banner)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _ = Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    using var socket = await listener.AcceptSocketAsync();
                    await socket.SendAsync(Encoding.ASCII.GetBytes(banner));
                    socket.Shutdown(SocketShutdown.Both);
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    return;
                }
            }
        });
        return listener;
    }

    /// <summary>What the app's end of a connection receives until it closes; empty when it is reset first.</summary>
    private static async Task<string> ReadToEndAsync(Socket socket)
    {
        using var reader = new StreamReader(new NetworkStream(socket, ownsSocket: false), Encoding.ASCII);
        try
        {
            return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (IOException)
        {
            return "";
        }
    }
}
