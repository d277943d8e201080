using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>/debug lists every routing key, address and matcher: loopback clients only, unless a bearer token is configured.</summary>
public sealed class DebugAccessTests
{
    private readonly HostLog _log = new();

    [SetUp]
    public void ForgetLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    private const string Token = "s3cret-token-of-24-chars";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [TestCase("127.0.0.1", null, null, "Allowed")]
    [TestCase("127.10.0.1", null, null, "Allowed")]
    [TestCase("::1", null, null, "Allowed")]
    [TestCase("::ffff:127.0.0.1", null, null, "Allowed")]
    [TestCase("127.0.0.1", Token, null, "Allowed")]
    [TestCase("10.0.0.5", null, null, "LoopbackOnly")]
    [TestCase("10.0.0.5", null, "Bearer " + Token, "LoopbackOnly")]
    [TestCase("::ffff:10.0.0.5", null, null, "LoopbackOnly")]
    [TestCase("fd00::2", null, null, "LoopbackOnly")]
    [TestCase(null, null, null, "LoopbackOnly")]
    [TestCase("10.0.0.5", Token, null, "TokenRequired")]
    [TestCase("10.0.0.5", Token, "Bearer wrong", "TokenRequired")]
    [TestCase("10.0.0.5", Token, "Bearer " + Token + "x", "TokenRequired")]
    [TestCase("10.0.0.5", Token, "Basic " + Token, "TokenRequired")]
    [TestCase("10.0.0.5", Token, Token, "TokenRequired")]
    [TestCase("10.0.0.5", Token, "Bearer " + Token, "Allowed")]
    [TestCase("10.0.0.5", Token, "bearer  " + Token + " ", "Allowed")]
    [TestCase(null, Token, "Bearer " + Token, "Allowed")]
    public void Decide_RemoteAddressTokenAndHeader_GiveTheDecision(string? remote, string? token, string? authorization, string expected) =>
        Assert.That(new DebugAccess(token).Decide(remote is null ? null : IPAddress.Parse(remote), authorization).ToString(), Is.EqualTo(expected));

    [TestCase(null)]
    [TestCase(Token)]
    public async Task DebugSnapshot_FromLoopback_IsServedWithOrWithoutAToken(string? token)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await StartAsync(loopback: true, token, cancel.Token);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };

        var debug = await http.GetAsync(new Uri("/debug/snapshot", UriKind.Relative), cancel.Token);

        Assert.That(debug.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await host.StopAsync(cancel.Token);
    }

    /// <summary>
    /// Through a real non-loopback address of this machine (the host then listens on every interface, as it does by
    /// default): the decision is made on the socket's peer, end to end.
    /// </summary>
    [Test]
    public async Task DebugSnapshot_FromANonLoopbackAddress_NeedsTheTokenWhileProbesAndMetricsStayOpen()
    {
        var address = NonLoopbackAddress();
        if (address is null)
        {
            Prerequisite.Missing("this machine has no non-loopback IPv4 address to connect from");
            return;
        }

        using var cancel = new CancellationTokenSource(Timeout);
        await using var closed = await StartAsync(loopback: false, token: null, cancel.Token);
        await using var open = await StartAsync(loopback: false, Token, cancel.Token);
        using var http = new HttpClient();

        var noToken = await http.GetAsync(new Uri($"http://{address}:{closed.AdminPort}/debug/snapshot"), cancel.Token);
        var missing = await http.GetAsync(new Uri($"http://{address}:{open.AdminPort}/debug/snapshot"), cancel.Token);
        var wrong = await GetAsync(http, new Uri($"http://{address}:{open.AdminPort}/debug/snapshot"), "Bearer not-the-token-at-all", cancel.Token);
        var right = await GetAsync(http, new Uri($"http://{address}:{open.AdminPort}/debug/snapshot"), "Bearer " + Token, cancel.Token);
        var probes = new[] { "/healthz", "/readyz", "/metrics" }.Select(path => http.GetAsync(new Uri($"http://{address}:{closed.AdminPort}{path}"), cancel.Token)).ToArray();
        await Task.WhenAll(probes);

        Assert.Multiple(async () =>
        {
            Assert.That(noToken.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(await noToken.Content.ReadAsStringAsync(cancel.Token), Does.StartWith("/debug is served to loopback clients only").And.Contain("--debug-token").And.Contain("XDSCP_DEBUG_TOKEN"));
            Assert.That(await noToken.Content.ReadAsStringAsync(cancel.Token), Does.Not.Contain("\"groups\""), "nothing of the snapshot");
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(missing.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(right.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await right.Content.ReadAsStringAsync(cancel.Token), Does.Contain("\"groups\""));
            Assert.That(probes.Select(p => p.Result.StatusCode), Has.All.EqualTo(HttpStatusCode.OK));
        });
        await closed.StopAsync(cancel.Token);
        await open.StopAsync(cancel.Token);
    }

    private async Task<ServerHost> StartAsync(bool loopback, string? token, CancellationToken cancellationToken)
    {
        var host = new InProcessServer().With("Server:Loopback", loopback).WithLog(_log).With("Admin:DebugToken", token).Create();
        await host.StartAsync(cancellationToken);
        StaticSnapshot.PublishTo(host, "gateway");
        return host;
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, Uri uri, string authorization, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return await http.SendAsync(request, cancellationToken);
    }

    private static IPAddress? NonLoopbackAddress() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(n => n.GetIPProperties().UnicastAddresses)
        .Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
}
