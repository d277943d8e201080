using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Sources;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The agent's <see cref="BurstCork"/> through the real broker and HttpClient: a laptop's upload goes out in corked
/// bursts, and a one-byte echo after it comes back to the client with every agent connection uncorked — the last burst's
/// bytes were let go when they were sent, not left to the kernel's 200 ms limit.
/// </summary>
[NonParallelizable]
public sealed class TunnelCorkTests
{
    private const int Upload = 8 * 1024 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private string _directory = "";

    [OneTimeSetUp]
    public async Task WriteManifestsAsync()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-cork-").FullName;
        await File.WriteAllTextAsync(Path.Combine(_directory, "inventory.yaml"), BrokerAdmissionTests.Inventory);
    }

    [OneTimeTearDown]
    public void DeleteManifests() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task Upload_GoesOutInCorkedBursts_AndAnEchoAfterItFindsEveryConnectionUncorked([Values(0, 2)] int lanes)
    {
        if (!BurstCork.Supported)
        {
            Assert.Ignore("TCP_CORK is Linux only; elsewhere the cork does nothing");
        }

        using var cancel = new CancellationTokenSource(Timeout);
        var log = new HostLog();
        await using var host = await new InProcessServer().WithManifests(_directory).WithLog(log).StartAsync(cancel.Token);
        var inputs = host.Services.GetRequiredService<RoutingInputsStore>();
        await Eventually.WaitAsync(() => inputs.Current?.FindService("shop", "echo") is not null, "the manifests to load");

        // The laptop: sends the upload, then echoes one byte.
        using var laptop = new TcpListener(IPAddress.Loopback, 0);
        laptop.Start();
        var serving = Task.Run(async () =>
        {
            using var socket = await laptop.AcceptSocketAsync(cancel.Token);
            var chunk = new byte[256 * 1024];
            for (var sent = 0; sent < Upload; sent += chunk.Length)
            {
                await socket.SendAsync(chunk, cancel.Token);
            }

            var one = new byte[1];
            await ReceiveExactlyAsync(socket, one, cancel.Token);
            await socket.SendAsync(one, cancel.Token);
        });

        var hello = BrokerAdmissionTests.Hello("corked", routingKey: "corked");
        await using var agent = await TunnelTestAgent.ConnectAsync(host.TunnelPort, hello, new Dictionary<int, int> { [8080] = ((IPEndPoint)laptop.LocalEndpoint).Port }, cancellationToken: cancel.Token, lanes: lanes);
        if (lanes > 0)
        {
            await Eventually.WaitAsync(() => agent.Multiplexer.ExtraLanes == lanes, "the lanes to open");
        }

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, (int)agent.Welcome.Endpoints.Single().BrokerPort), cancel.Token);
        var upload = new byte[Upload];
        await ReceiveExactlyAsync(client, upload, cancel.Token);
        await client.SendAsync("x"u8.ToArray(), cancel.Token);
        var echo = new byte[1];
        await ReceiveExactlyAsync(client, echo, cancel.Token);
        await serving.WaitAsync(cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(echo[0], Is.EqualTo((byte)'x'), "the echo came back");
            Assert.That(agent.Corks.Sum(c => c.Bursts), Is.GreaterThan(0), "the upload went out in corked bursts");
            Assert.That(agent.Corks.Where(c => c.IsCorked), Is.Empty, "no connection is left corked once its bursts were sent");
        });
        await agent.GoodbyeAsync();
        await host.StopAsync(cancel.Token);
        log.AssertNoUnexpectedWarnings();
    }

    private static async Task ReceiveExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        for (var got = 0; got < buffer.Length;)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(got), cancellationToken);
            Assert.That(read, Is.GreaterThan(0), "the connection ended early");
            got += read;
        }
    }
}
