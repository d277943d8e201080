using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// A stream that never sends its Hello is refused once <c>Tunnel:HelloTimeout</c> passes, through the real server host on
/// loopback. The timeout is 0.3 s here, so this host carries nothing else: a Hello that is merely slow to arrive (a
/// megabyte field on a loaded machine, <see cref="BrokerAdmissionTests"/>) must not meet a timeout this short.
/// </summary>
[NonParallelizable]
public sealed class BrokerHelloTimeoutTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly HostLog _log = new();
    private string _directory = "";
    private ServerHost? _host;

    private ServerHost Host => _host!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-broker-hello-").FullName;
        await File.WriteAllTextAsync(Path.Combine(_directory, "inventory.yaml"), BrokerAdmissionTests.Inventory);
        using var cancel = new CancellationTokenSource(Timeout);
        _host = await new InProcessServer()
            .WithManifests(_directory)
            .WithLog(_log)
            .With("Tunnel:HelloTimeout", TimeSpan.FromMilliseconds(300))
            .StartAsync(cancel.Token);
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

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    [Test]
    public async Task NoHello_RefusedWhenTheHelloTimeoutPasses()
    {
        var before = await HelloTimeoutRefusalsAsync();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Host.TunnelPort}");
        using var call = new TunnelBroker.TunnelBrokerClient(channel).Connect();
        var refusal = Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Timeout))!;
        Assert.Multiple(async () =>
        {
            Assert.That((refusal.StatusCode, refusal.Status.Detail), Is.EqualTo((StatusCode.DeadlineExceeded, "no Hello within 0.3 s")));
            Assert.That(await HelloTimeoutRefusalsAsync() - before, Is.EqualTo(1));
        });
    }

    /// <summary><c>tunnel_broker_refusals_total{reason="hello_timeout"}</c> as <c>/metrics</c> serves it now.</summary>
    private async Task<double> HelloTimeoutRefusalsAsync()
    {
        const string Series = "tunnel_broker_refusals_total{reason=\"hello_timeout\"} ";
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{Host.AdminPort}/metrics")).WaitAsync(Timeout);
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(Series, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[Series.Length..], CultureInfo.InvariantCulture);
    }
}
