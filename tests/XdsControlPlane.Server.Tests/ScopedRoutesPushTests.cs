using XdsControlPlane.Testing;
using static XdsControlPlane.Server.Tests.ScopedGatewayClient;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// What a change pushes to a gateway with scoped routes (<c>--scoped-routes</c>), end to end: the server host on a copy
/// of the shop example and a raw ADS stream, State of the World or Delta, that subscribes like an Envoy gateway
/// (<see cref="ScopedGatewayClient"/>). A RouteGroup edit must push that Service's route configuration and nothing else;
/// a new Service its scopes, then (when the client asks for it, as Envoy does) its route configuration; and after any
/// sequence of edits the client must hold exactly what a server started fresh on the same files serves. Each test ends
/// its sequence with a barrier — an edit whose push is awaited — so anything an earlier change pushed has arrived.
/// </summary>
[NonParallelizable]
public sealed class ScopedRoutesPushTests
{
    private const string CartRoutes = "gateway-http/cart.shop.svc.cluster.local";
    private const string CheckoutRoutes = "gateway-http/checkout.shop.svc.cluster.local";
    private const string PaymentsRoutes = "gateway-http/payments.shop.svc.cluster.local";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly HostLog _log = new();
    private readonly List<string> _directories = [];
    private readonly List<ServerHost> _hosts = [];
    private readonly List<ScopedGatewayClient> _clients = [];

    [TearDown]
    public async Task StopAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        foreach (var host in _hosts)
        {
            using var cancel = new CancellationTokenSource(Timeout);
            await host.StopAsync(cancel.Token);
            await host.DisposeAsync();
        }

        _directories.ForEach(d => Directory.Delete(d, recursive: true));
        _clients.Clear();
        _hosts.Clear();
        _directories.Clear();
        _log.AssertNoUnexpectedWarnings();
        _log.Clear();
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task RouteGroupEdit_PushesOnlyThatServicesRouteConfiguration(bool delta)
    {
        var (directory, gateway) = await StartAsync(delta);
        await EditAsync(directory, "routing.yaml", "match: {pathPrefix: /api/v2}", "match: {pathPrefix: /api/v3}");
        await ReceivedAsync(gateway, TypeUrls.RouteConfiguration, CartRoutes);
        await BarrierAsync(directory, gateway);

        Assert.That(gateway.Log.Select(Described), Is.EqualTo(new[] { Rds(CartRoutes), Rds(CheckoutRoutes) }), "cart's routes, then the barrier's; no scope or listener");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task ServiceAdded_PushesItsScopesThenItsRoutes(bool delta)
    {
        var (directory, gateway) = await StartAsync(delta);
        var scopesBefore = gateway.Held[TypeUrls.ScopedRouteConfiguration].Keys.ToArray();
        await File.WriteAllTextAsync(Path.Combine(directory, "payments.yaml"), Payments("shop"));
        await ReceivedAsync(gateway, TypeUrls.RouteConfiguration, PaymentsRoutes);
        await BarrierAsync(directory, gateway);

        string[] paymentsScopes = ["payments", "payments.shop", "payments.shop.svc.cluster.local"];
        Assert.Multiple(() =>
        {
            Assert.That(gateway.Log.Select(r => r.TypeUrl), Is.EqualTo(new[] { TypeUrls.ScopedRouteConfiguration, TypeUrls.RouteConfiguration, TypeUrls.RouteConfiguration }), "scopes, their routes (asked for when the scopes named them), the barrier; no listener");
            Assert.That(gateway.Log[0].Names, delta ? Is.EquivalentTo(paymentsScopes) : Is.EquivalentTo(scopesBefore.Concat(paymentsScopes)), "the new scopes (State of the World: with every other)");
            Assert.That(gateway.Log[1].Names, Is.EqualTo(new[] { PaymentsRoutes }), "the new Service's routes only (State of the World too: the client holds the others)");
            Assert.That(Described(gateway.Log[2]), Is.EqualTo(Rds(CheckoutRoutes)));
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task AfterEdits_HoldsWhatAFreshServerServes(bool delta)
    {
        var (directory, gateway) = await StartAsync(delta);
        var srds = gateway.Held[TypeUrls.ScopedRouteConfiguration];
        var rds = gateway.Held[TypeUrls.RouteConfiguration];

        await File.WriteAllTextAsync(Path.Combine(directory, "payments.yaml"), Payments("shop"));
        await Until(gateway, () => rds.ContainsKey(PaymentsRoutes));

        // A cart in another namespace: "cart" alone is no longer a host name (its scope goes, cart's hosts change).
        await File.WriteAllTextAsync(Path.Combine(directory, "web.yaml"), Payments("web").Replace("payments", "cart", StringComparison.Ordinal));
        await Until(gateway, () => !srds.ContainsKey("cart") && rds.ContainsKey("gateway-http/cart.web.svc.cluster.local"));

        await EditAsync(directory, "routing.yaml", "match: {pathPrefix: /api/v2}", "match: {pathPrefix: /api/v3}");
        await Until(gateway, () => rds[CartRoutes].ToStringUtf8().Contains("/api/v3", StringComparison.Ordinal));

        File.Delete(Path.Combine(directory, "payments.yaml"));
        await Until(gateway, () => !srds.ContainsKey("payments.shop") && !rds.ContainsKey(PaymentsRoutes));
        await BarrierAsync(directory, gateway);

        var (_, fresh) = await StartAsync(delta, directory);
        foreach (var (typeUrl, held) in gateway.Held)
        {
            Assert.That(held.Select(r => (r.Key, r.Value.ToBase64())), Is.EqualTo(fresh.Held[typeUrl].Select(r => (r.Key, r.Value.ToBase64()))), TypeUrls.ShortName(typeUrl));
        }
    }

    private static string Rds(string name) => $"RDS {name}";

    private static string Described(Received response) =>
        $"{TypeUrls.ShortName(response.TypeUrl)} {string.Join(" ", response.Names)}{(response.Removed.Length > 0 ? " -" + string.Join(" -", response.Removed) : "")}";

    private static string Payments(string ns) => $"""
        apiVersion: v1
        kind: Service
        metadata: {"{"}name: payments, namespace: {ns}{"}"}
        spec:
          ports:
          - {"{"}name: http, port: 8080{"}"}
        """;

    private static async Task EditAsync(string directory, string file, string old, string replacement)
    {
        var path = Path.Combine(directory, file);
        var before = await File.ReadAllTextAsync(path);
        var after = before.Replace(old, replacement, StringComparison.Ordinal);
        Assert.That(after, Is.Not.EqualTo(before), "the edit applies");
        await File.WriteAllTextAsync(path + ".tmp", after);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    private static Task ReceivedAsync(ScopedGatewayClient gateway, string typeUrl, string name) =>
        Until(gateway, () => gateway.Log.Any(r => r.TypeUrl == typeUrl && r.Names.Contains(name)));

    private static async Task Until(ScopedGatewayClient gateway, Func<bool> done)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await gateway.ReceiveUntilAsync(done, cancel.Token);
    }

    /// <summary>Edits checkout's RouteGroup and waits for its push: changes are applied and pushed in order, so whatever an earlier change pushed came before.</summary>
    private static async Task BarrierAsync(string directory, ScopedGatewayClient gateway)
    {
        var routes = gateway.Held[TypeUrls.RouteConfiguration];
        var before = routes[CheckoutRoutes];
        await EditAsync(directory, "routing.yaml", "timeout: 5s", "timeout: 7s");
        await Until(gateway, () => !routes[CheckoutRoutes].Equals(before));
    }

    /// <summary>A server on <paramref name="from"/> (else a copy of the shop example) with scoped routes on, and a synced gateway client.</summary>
    private async Task<(string Directory, ScopedGatewayClient Gateway)> StartAsync(bool delta, string? from = null)
    {
        var directory = Directory.CreateTempSubdirectory("xdscp-scoped-").FullName;
        _directories.Add(directory);
        foreach (var file in Directory.GetFiles(from ?? RepoDirectory.Path("examples", "shop"), "*.yaml"))
        {
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
        }

        using var cancel = new CancellationTokenSource(Timeout);
        var host = await new InProcessServer().WithManifests(directory).With("Translation:ScopedRoutes", true).WithLog(_log).StartAsync(cancel.Token);
        _hosts.Add(host);
        var gateway = await ScopedGatewayClient.ConnectAsync(host.XdsPort, delta, cancel.Token);
        _clients.Add(gateway);
        return (directory, gateway);
    }
}
