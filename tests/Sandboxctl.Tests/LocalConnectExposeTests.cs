using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Sources;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// Where the laptop's outbound calls go (<c>--expose</c>), through a real <c>sandboxctl local connect</c>, the real
/// tunnel and broker, and HTTP servers on loopback standing in for the in-cluster pods. With <c>--sandbox</c> the
/// workload joins the Sandbox's routing key and its calls to a Service the Sandbox forked reach the fork, not the
/// baseline (calls to a Service it did not fork reach the baseline), each carrying the key. A Service of another
/// namespace is reached when named (<c>--expose orders.billing:…</c>, which the agent writes to <c>spec.expose</c>), and
/// one the control plane does not know is refused: the app's connection is closed and the user is told why.
/// </summary>
public sealed class LocalConnectExposeTests : LocalConnectClusterTest
{
    [Test]
    public async Task SandboxFlag_CallsToAForkedService_ReachTheFork_OthersTheBaseline_WithTheSandboxsKey()
    {
        var laptop = Track(new LocalHttpEcho("laptop"));
        var baseline = Track(new LocalHttpEcho("orders-baseline"));
        var fork = Track(new LocalHttpEcho("orders-fork"));
        var payments = Track(new LocalHttpEcho("payments"));
        var orders = FakeApiServer.ServiceObject("shop", "orders");
        orders["spec"]!["selector"] = new JsonObject { ["app"] = "orders" };
        Api.Put(FakeApiServer.Services, orders);
        Api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "payments"));
        Api.Put(FakeApiServer.Deployments, FakeApiServer.DeploymentObject("shop", "orders", "orders:1.0"));
        Api.Put(FakeApiServer.EndpointSlices, FakeApiServer.EndpointSliceObject("shop", "orders", baseline.Port));
        Api.Put(FakeApiServer.EndpointSlices, FakeApiServer.EndpointSliceObject("shop", "payments", payments.Port));
        Api.Put(FakeApiServer.Sandboxes, new JsonObject
        {
            ["apiVersion"] = "sandboxctl.io/v1alpha1",
            ["kind"] = "Sandbox",
            ["metadata"] = new JsonObject { ["name"] = "feature-x", ["namespace"] = "shop" },
            ["spec"] = new JsonObject { ["routingKey"] = "feature-x-key", ["forks"] = new JsonArray(new JsonObject { ["of"] = new JsonObject { ["kind"] = "Deployment", ["name"] = "orders" } }) },
        });
        await Cluster.StartHostAsync();

        // The Sandbox controller forks orders; its pod is the fork backend on loopback.
        await Eventually.WaitAsync(() => Api.Get(FakeApiServer.Services, "shop", "orders-feature-x") is not null, "the Sandbox controller to fork orders");
        Api.Put(FakeApiServer.EndpointSlices, FakeApiServer.EndpointSliceObject("shop", "orders-feature-x", fork.Port));
        await KnownAsync("shop", "orders-feature-x");
        await KnownAsync("shop", "payments");

        var (ordersPort, paymentsPort) = (FreePort.Next(), FreePort.Next());
        var agent = Cluster.Start("--sandbox", "feature-x", "--port", $"{laptop.Port}:8080", "--expose", $"orders:8080={ordersPort}", "--expose", $"payments:8080={paymentsPort}");
        var connected = await agent.NextAsync("connected");
        var toOrders = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            toOrders.Add(await LocalHttpEcho.GetAsync(ordersPort, $"/orders/{i}"));
        }

        var toPayments = await LocalHttpEcho.GetAsync(paymentsPort, "/pay");
        var inbound = await LocalHttpEcho.GetAsync(LocalConnectCluster.BrokerPort(connected), "/in", "x-routing-key: feature-x-key");

        Assert.Multiple(() =>
        {
            Assert.That((string?)connected["routingKey"], Is.EqualTo("feature-x-key"), "the Sandbox's key");
            Assert.That((string?)Api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev")!["spec"]!["sandbox"], Is.EqualTo("feature-x"));
            Assert.That(toOrders, Has.All.StartWith("orders-fork\nGET /orders/"), "every call to the forked Service reaches the fork");
            Assert.That(toOrders, Has.All.Contain("x-routing-key: feature-x-key\r\n"), "with the Sandbox's key, so the fork's own calls route too");
            Assert.That(toPayments, Does.StartWith("payments\nGET /pay").And.Contain("x-routing-key: feature-x-key\r\n"), "a Service without a fork: its baseline");
            Assert.That(inbound, Does.StartWith("laptop\nGET /in"), "keyed calls for cart reach the laptop");
        });
        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
    }

    [Test]
    public async Task ControlPlaneStoppingWithAnAgentAttached_LogsNoWarning()
    {
        // The agent is killed and the host stopped right after: the broker's Disconnected write fails with the host's
        // shutdown (its API client disposed), which is not a fault (the teardown fails on any unexpected warning).
        var laptop = Track(new LocalHttpEcho("laptop"));
        await Cluster.StartHostAsync();
        var agent = Cluster.Start("--routing-key", "feature-x", "--port", $"{laptop.Port}:8080");
        await agent.NextAsync("connected");
    }

    [Test]
    public async Task ExposeOfAnotherNamespace_Named_ReachesThatNamespacesService_WithTheKey()
    {
        var laptop = Track(new LocalHttpEcho("laptop"));
        var billing = Track(new LocalHttpEcho("orders-billing"));
        var shop = Track(new LocalHttpEcho("orders-shop"));
        Api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("billing", "orders"));
        Api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "orders"));
        Api.Put(FakeApiServer.EndpointSlices, FakeApiServer.EndpointSliceObject("billing", "orders", billing.Port));
        Api.Put(FakeApiServer.EndpointSlices, FakeApiServer.EndpointSliceObject("shop", "orders", shop.Port));
        await Cluster.StartHostAsync();
        await KnownAsync("billing", "orders");

        var port = FreePort.Next();
        var agent = Cluster.Start("--routing-key", "feature-x", "--port", $"{laptop.Port}:8080", "--expose", $"orders.billing:8080={port}");
        await agent.NextAsync("connected");
        var body = await LocalHttpEcho.GetAsync(port, "/invoices");

        Assert.Multiple(() =>
        {
            Assert.That((string?)Api.Get(FakeApiServer.LocalWorkloads, "shop", "cart-dev")!["spec"]!["expose"]![0]!["service"], Is.EqualTo("orders.billing"), "declared in spec.expose");
            Assert.That(body, Does.StartWith("orders-billing\nGET /invoices"), "billing's orders, not shop's");
            Assert.That(body, Does.Contain("x-routing-key: feature-x\r\n"));
        });
        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
    }

    [Test]
    public async Task ExposeOfANamespaceTheControlPlaneDoesNotWatch_IsRefused_TheAppGetsBadGateway_AndTheUserToldWhy()
    {
        var laptop = Track(new LocalHttpEcho("laptop"));
        var billing = Track(new LocalHttpEcho("orders-billing"));
        Api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("billing", "orders"));
        Api.Put(FakeApiServer.EndpointSlices, FakeApiServer.EndpointSliceObject("billing", "orders", billing.Port));
        await Cluster.StartHostAsync(server => server.With("Kubernetes:Namespaces:0", "shop"));

        // The developer may read billing's Service (the preflight passes), but the control plane serves shop only.
        var port = FreePort.Next();
        var agent = Cluster.Start("--routing-key", "feature-x", "--port", $"{laptop.Port}:8080", "--expose", $"orders.billing:8080={port}");
        await agent.NextAsync("connected");
        var status = await StatusLineAsync(port, "/invoices");
        var warnings = new[] { await agent.NextAsync("warning"), await agent.NextAsync("warning") }.Select(w => (string?)w["message"]).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(status, Does.StartWith("HTTP/1.1 502"), "the app's request is answered Bad Gateway by the agent's proxy, not sent anywhere else");
            Assert.That(warnings, Has.Member("the broker closed a connection (Forbidden): no Service billing/orders is known to the control plane"));
            Assert.That(warnings, Has.Some.StartWith("--expose orders.billing:8080: GET /invoices was not forwarded"));
        });
        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
    }

    /// <summary>The status line of the answer to one HTTP/1.1 GET on a new connection to <paramref name="port"/>.</summary>
    private static async Task<string> StatusLineAsync(int port, string path)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"));
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        return await reader.ReadLineAsync() ?? "";
    }

    private T Track<T>(T disposable)
        where T : IAsyncDisposable => Cluster.Disposables.Track(disposable);

    /// <summary>Waits until the control plane has read an endpoint of <paramref name="ns"/>/<paramref name="service"/> (what its broker dials).</summary>
    private Task KnownAsync(string ns, string service)
    {
        var inputs = Cluster.Host.Services.GetRequiredService<RoutingInputsStore>();
        return Eventually.WaitAsync(() => inputs.Current?.SlicesOf(ns, service).Count > 0, $"the control plane to read the endpoints of {ns}/{service}");
    }
}
