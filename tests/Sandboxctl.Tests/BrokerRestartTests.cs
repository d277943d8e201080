using System.Globalization;
using System.Net;
using System.Net.Sockets;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// The tunnel broker restarted under active tunnels (issue 25), through real processes: the server (broker inside) in
/// manifests mode killed with SIGKILL while three keyed connections through the tunnel are open, then started again on
/// the same tunnel port; <c>sandboxctl local connect</c> counts the three connections as lost, reconnects (a short
/// <c>--reconnect-delay</c>, no production timer waited on) and carries new connections again.
/// </summary>
public sealed class BrokerRestartTests
{
    private readonly TestDisposables _disposables = new();
    private string _directory = "";
    private string _state = "";

    [SetUp]
    public void CreateDirectories()
    {
        _directory = Directory.CreateTempSubdirectory("broker-restart-").FullName;
        _state = Directory.CreateTempSubdirectory("broker-restart-state-").FullName;
        File.WriteAllText(Path.Combine(_directory, "shop.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\nspec:\n  ports:\n  - {name: http, port: 8080}\n");
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _disposables.DisposeAllAsync();
        Directory.Delete(_directory, recursive: true);
        Directory.Delete(_state, recursive: true);
    }

    [Test]
    public async Task BrokerKilledAndRestarted_UnderOpenConnections_AgentCountsThemLost_ReconnectsAndCarriesNewOnes()
    {
        var tunnelPort = FreePort.Next();
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var server = await ServerProcess.StartAsync(["--manifests", _directory, "--tunnel-listen-ports", "0"], tunnelPort: tunnelPort);

        // The broker refuses agents until the manifests are loaded, and an agent gives up after a few attempts at start.
        await ReadyAsync(server);
        var agent = _disposables.Track(LocalAgentProcess.Start(
            _state, "local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{laptop.Port}:8080",
            "--server", $"127.0.0.1:{tunnelPort}", "--name", "cart-dev", "-n", "shop", "-o", "json", "--reconnect-delay", "100ms"));
        try
        {
            var first = BrokerPort(await agent.NextAsync("connected"));
            var open = new List<TcpClient>();
            for (var i = 0; i < 3; i++)
            {
                var client = new TcpClient();
                open.Add(client);
                await client.ConnectAsync(IPAddress.Loopback, first);
                Assert.That(await LocalHttpEcho.SendAsync(client.GetStream(), $"/open-{i}", "x-routing-key: feature-x"), Does.StartWith("laptop\n"));
            }

            await server.KillAsync();
            var reconnecting = await agent.NextAsync("reconnecting");
            var cut = await Task.WhenAll(open.Select(ClosedAsync));
            await server.DisposeAsync();
            server = await ServerProcess.StartAsync(["--manifests", _directory, "--tunnel-listen-ports", "0"], tunnelPort: tunnelPort);
            var again = await agent.NextAsync("connected");
            var after = await LocalHttpEcho.GetAsync(BrokerPort(again), "/after", "x-routing-key: feature-x");
            open.ForEach(c => c.Dispose());
            var exit = await agent.TerminateAsync();

            Assert.Multiple(() =>
            {
                Assert.That((long?)reconnecting["connectionsLost"], Is.EqualTo(3), "the three open connections are counted as lost");
                Assert.That((long?)reconnecting["connectionsLostInAll"], Is.EqualTo(3));
                Assert.That(cut, Has.All.True, "and were closed at the data plane's end");
                Assert.That((bool?)again["reconnected"], Is.True);
                Assert.That(after, Does.StartWith("laptop\nGET /after HTTP/1.1"), "the restarted broker carries new connections");
                Assert.That(exit, Is.EqualTo(ExitCodes.Ok));
                Assert.That(agent.Stdout, Does.Not.Contain("\"event\":\"error\""));
            });
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static async Task ReadyAsync(ServerProcess server)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.AdminPort}") };
        await Eventually.WaitAsync(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).IsSuccessStatusCode, "the server ready");
    }

    private static int BrokerPort(System.Text.Json.Nodes.JsonObject connected) =>
        int.Parse(((string)connected["endpoints"]![0]!["endpoint"]!).Split(':')[1], CultureInfo.InvariantCulture);

    /// <summary>Whether the connection is closed: a read ends (0 bytes or a reset) within 30 s.</summary>
    private static async Task<bool> ClosedAsync(TcpClient client)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            return await client.GetStream().ReadAsync(new byte[16], timeout.Token) == 0;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
