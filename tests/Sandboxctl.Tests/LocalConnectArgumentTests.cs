using Sandboxctl.Local;

namespace Sandboxctl.Tests;

/// <summary><c>sandboxctl local connect</c>'s flags: bad ones exit 1 with an error naming the flag, before anything is dialled.</summary>
public sealed class LocalConnectArgumentTests
{
    [TestCase(new[] { "--service", "cart", "--port", "8080" }, "exactly one of --sandbox and --routing-key", TestName = "Connect_NeitherSandboxNorKey_NamesBoth")]
    [TestCase(new[] { "--sandbox", "s", "--routing-key", "k", "--service", "cart", "--port", "8080" }, "exactly one of --sandbox and --routing-key", TestName = "Connect_BothSandboxAndKey_NamesBoth")]
    [TestCase(new[] { "--sandbox", "s", "--port", "8080" }, "--service is required", TestName = "Connect_NoService_NamesIt")]
    [TestCase(new[] { "--sandbox", "s", "--service", "Cart_1", "--port", "8080" }, "--service 'Cart_1'", TestName = "Connect_BadServiceName_NamesIt")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart" }, "at least one --port", TestName = "Connect_NoPort_SaysSo")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart", "--port", "80:x" }, "--port '80:x'", TestName = "Connect_BadPort_NamesIt")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart", "--port", "70000" }, "--port '70000'", TestName = "Connect_PortOutOfRange_NamesIt")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart", "--port", "8080", "--port", "9000:8080" }, "Service port 8080 is given twice", TestName = "Connect_SameRemoteTwice_SaysSo")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart", "--port", "8080", "--expose", "orders=18080" }, "--expose 'orders=18080'", TestName = "Connect_BadExpose_NamesIt")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart", "--port", "8080", "--expose", "orders:80=1", "--expose", "users:80=1" }, "local port 1 is given to two --expose", TestName = "Connect_ExposeSharingALocalPort_SaysSo")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart", "--port", "8080", "--server", "http://x:1" }, "--server 'http://x:1' is not HOST:PORT", TestName = "Connect_ServerAsUrl_NamesIt")]
    [TestCase(new[] { "--routing-key", "UPPER", "--service", "cart", "--port", "8080" }, "--routing-key 'UPPER'", TestName = "Connect_BadRoutingKey_NamesIt")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart", "--port", "8080", "--name", "a.b" }, "--name 'a.b'", TestName = "Connect_BadName_NamesIt")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart", "--port", "8080", "--preview", "9090" }, "--preview 9090: port 9090 is not one this machine serves", TestName = "Connect_PreviewOfAPortNotServed_NamesIt")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart", "--port", "8080", "--preview", "8080:everyone" }, "--preview '8080:everyone' is not PORT[:public|shared|personal]", TestName = "Connect_PreviewBadAccess_NamesIt")]
    [TestCase(new[] { "--sandbox", "s", "--service", "cart", "--port", "8080", "--preview", "8080", "--preview", "8080:public" }, "--preview 8080 is given twice", TestName = "Connect_PreviewTwice_SaysSo")]
    public async Task Connect_BadFlags_ExitOneNamingTheFlag(string[] flags, string message)
    {
        var (code, stdout, stderr) = await CliHarness.RunInProcessAsync(["local", "connect", .. flags]);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain(message));
            Assert.That(stderr, Does.Contain("hint:"));
            Assert.That(stdout, Is.Empty);
        });
    }

    [Test]
    public async Task Connect_NothingListensLocally_ExitOneNamingThePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var (code, _, stderr) = await CliHarness.RunInProcessAsync("local", "connect", "--sandbox", "s", "--service", "cart", "--port", $"{port}:8080", "--server", "127.0.0.1:1");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain($"nothing listens on localhost:{port} (--port {port}:8080); start your service first"));
        });
    }

    [Test]
    public async Task Connect_ExposePortBusy_ExitOneNamingTheHolderAndAFreePort()
    {
        using var laptop = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        laptop.Start();
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var local = ((System.Net.IPEndPoint)laptop.LocalEndpoint).Port;
        var busy = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;

        var (code, _, stderr) = await CliHarness.RunInProcessAsync(
            "local", "connect", "--sandbox", "s", "--service", "cart", "--port", $"{local}:8080", "--expose", $"orders:8080={busy}", "--server", "127.0.0.1:1");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain($"local port {busy} (--expose orders:8080={busy}) is in use by "));
            Assert.That(stderr, Does.Match(@"hint: Port \d+ is free: use --expose orders:8080=\d+\."));
        });
    }

    [TestCase("cart", "alice", "cart-alice")]
    [TestCase("cart", "Alice.Smith", "cart-alice-smith")]
    [TestCase("cart", "DOMAIN\\bob__x", "cart-domain-bob-x")]
    public void DefaultName_UserName_MadeADnsLabel(string service, string user, string expected) =>
        Assert.That(LocalConnectRequest.DefaultName(service, user), Is.EqualTo(expected));

    [TestCase("orders:8080=18080", "orders", 8080, 18080)]
    [TestCase("orders.shop:80=9000", "orders.shop", 80, 9000)]
    public void ExposedService_Parse_ReadsServicePortAndLocalPort(string text, string service, int port, int local) =>
        Assert.That(ExposedService.Parse(text), Is.EqualTo(new ExposedService(service, port, local)));

    [TestCase(1, 125, 250)]
    [TestCase(2, 250, 500)]
    [TestCase(4, 1000, 2000)]
    [TestCase(7, 5000, 10000)]
    [TestCase(30, 5000, 10000)]
    public void Backoff_Attempt_ExponentialWithJitterCappedAtTenSeconds(int attempt, int atLeastMs, int atMostMs)
    {
        var backoff = RetryBackoff.Reconnect(new Random(attempt));
        var delays = Enumerable.Range(0, 50).Select(_ => backoff.Delay(attempt).TotalMilliseconds).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(delays, Is.All.InRange(atLeastMs, atMostMs));
            Assert.That(delays.Distinct().Count(), Is.GreaterThan(1), "jittered");
        });
    }

    [Test]
    public void Backoff_SameSeed_SameDelays()
    {
        static TimeSpan[] Delays(int seed)
        {
            var backoff = RetryBackoff.Reconnect(new Random(seed));
            return [.. Enumerable.Range(1, 8).Select(backoff.Delay)];
        }

        var replayed = Delays(42);

        Assert.That(Delays(42), Is.EqualTo(replayed));
    }
}
