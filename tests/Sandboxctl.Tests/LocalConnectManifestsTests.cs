using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Grpc.Core;
using Authorization = Envoy.Service.Auth.V3.Authorization;
using Grpc.Net.Client;
using XdsControlPlane.Model;
using XdsControlPlane.Server;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl local connect</c> as a real process against an in-process server in manifests mode (the broker
/// inside, <c>--server</c> to its tunnel port): keyed HTTP sent to the broker endpoint the Welcome names reaches the
/// laptop's server; <c>--expose</c> reaches the baseline backend with the routing key added; SIGTERM says Goodbye and
/// exits 0; <c>--force</c> takes a live workload over; bad input fails loudly with a clear error and exit code. Through <c>--expose</c> (every port told by its
/// first bytes in manifests mode) h2c gRPC — bidi streams with trailers, from Grpc.Net.Client and @grpc/grpc-js —,
/// HTTP/1.1 on 127.0.0.1 and ::1 and a WebSocket upgrade get the key, merged into an existing <c>baggage</c>; a raw
/// TCP client's bytes pass untouched.
/// </summary>
public sealed class LocalConnectManifestsTests
{
    private const string PreviewDomain = "preview.example.com";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly Marshaller<string> Text = Marshallers.Create(s => Encoding.UTF8.GetBytes(s), b => Encoding.UTF8.GetString(b));
    private static readonly Method<string, string> Bidi = new(MethodType.DuplexStreaming, "echo.Echo", "Bidi", Text, Text);

    private readonly HostLog _log = new();
    private readonly TestDisposables _disposables = new();
    private string _directory = "";
    private string _state = "";

    [SetUp]
    public void CreateDirectories()
    {
        _log.Clear();
        _directory = Directory.CreateTempSubdirectory("local-manifests-").FullName;
        _state = Directory.CreateTempSubdirectory("local-state-").FullName;
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _disposables.DisposeAllAsync();
        Directory.Delete(_directory, recursive: true);
        Directory.Delete(_state, recursive: true);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task Connect_KeyedHttpAndExpose_ReachTheLaptopAndTheBackendWithTheKey_SigtermCleansUp()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var orders = _disposables.Track(new LocalHttpEcho("orders-baseline"));
        var host = await StartHostAsync(orders.Port);
        var expose = FreePort.Next();

        var agent = _disposables.Track(LocalAgentProcess.Start(
            _state, "local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{laptop.Port}:8080",
            "--expose", $"orders:8080={expose}", "--server", $"127.0.0.1:{host.TunnelPort}", "--name", "cart-dev", "-n", "shop", "-o", "json"));
        var connected = await agent.NextAsync("connected");
        var endpoint = (string)connected["endpoints"]![0]!["endpoint"]!;
        var brokerPort = int.Parse(endpoint.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);

        var inbound = await LocalHttpEcho.GetAsync(brokerPort, "/cart", "x-routing-key: feature-x");
        var outbound = await LocalHttpEcho.GetAsync(expose, "/orders");
        var (statusCode, status, _) = await LocalAgentProcess.RunAsync(_state, "local", "status", "-o", "json");

        Assert.Multiple(() =>
        {
            Assert.That((string?)connected["routingKey"], Is.EqualTo("feature-x"));
            Assert.That((string?)connected["endpoints"]![0]!["protocol"], Is.EqualTo("http"));
            Assert.That(inbound, Does.StartWith("laptop\nGET /cart HTTP/1.1"));
            Assert.That(outbound, Does.StartWith("orders-baseline\nGET /orders HTTP/1.1"));
            Assert.That(outbound, Does.Contain("x-routing-key: feature-x\r\n"));
            Assert.That(statusCode, Is.EqualTo(ExitCodes.Ok));
            var agents = JsonNode.Parse(status)!["agents"]!.AsArray();
            Assert.That(agents.Select(a => (string?)a!["name"]), Is.EqualTo(new[] { "cart-dev" }));
            Assert.That((string?)agents[0]!["agent"], Is.EqualTo("running"));
            Assert.That((int?)agents[0]!["pid"], Is.EqualTo(agent.Pid));
        });

        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
        Assert.Multiple(() =>
        {
            Assert.That(agent.Stdout, Does.Contain("\"event\":\"disconnected\""));
            Assert.That(Directory.EnumerateFiles(_state), Is.Empty, "the state file is removed");
        });
        await AssertRefusedAsync(brokerPort);
    }

    [Test]
    public async Task Connect_RealAgent_OpensItsLanes_AndConnectionsStillReachTheLaptop()
    {
        // Protocol version 2: the broker offers lanes in Welcome and sandboxctl opens them (each its own HTTP/2
        // connection); /metrics counts every agent stream, so the primary and its lanes show as 1 + MaxLanes.
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var host = await StartHostAsync(1);
        var agent = _disposables.Track(LocalAgentProcess.Start(
            _state, "local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{laptop.Port}:8080",
            "--server", $"127.0.0.1:{host.TunnelPort}", "--name", "cart-dev", "-n", "shop", "-o", "json"));
        var connected = await agent.NextAsync("connected");
        var brokerPort = int.Parse(((string)connected["endpoints"]![0]!["endpoint"]!).Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        var streams = 1 + new XdsControlPlane.Tunnel.TunnelLimits().MaxLanes;
        double open = 0;
        await Eventually.WaitAsync(async () => (open = await AgentStreamsAsync(host)) == streams, () => $"{streams} agent streams (the primary and its lanes) open at the broker, saw {open}");

        // Connections take turns over the streams: as many requests as streams all reach the laptop.
        var answers = await Task.WhenAll(Enumerable.Range(0, streams).Select(i => LocalHttpEcho.GetAsync(brokerPort, $"/cart/{i}", "x-routing-key: feature-x")));
        Assert.That(answers, Has.All.StartWith("laptop\nGET /cart/"));
    }

    /// <summary>The tunnel broker's <c>tunnel_broker_agent_streams</c> gauge as <c>/metrics</c> serves it now.</summary>
    private static async Task<double> AgentStreamsAsync(ServerHost host)
    {
        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{host.AdminPort}/metrics"));
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("tunnel_broker_agent_streams ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line["tunnel_broker_agent_streams ".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Test]
    public async Task Connect_Preview_GatewayServesItsHostToTheLaptop_JsonNamesTheUrl_GoneAfterSigterm()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var host = await StartHostAsync(1, previewDomain: PreviewDomain);
        var expected = PreviewHostNames.Host(LocalWorkload.KindName, "shop", "cart-dev", "cart", 8080, "", PreviewDomain);

        var agent = StartPreviewAgent(host, laptop.Port, "8080:shared", "-o", "json");
        var connected = await agent.NextAsync("connected");
        using var timeout = new CancellationTokenSource(Patience);
        var served = await GatewayRouteWatch.WaitAsync(host.XdsPort, expected, present: true, timeout.Token);

        Assert.Multiple(() =>
        {
            var preview = connected["previews"]!.AsArray().Single()!;
            Assert.That((int?)preview["port"], Is.EqualTo(8080));
            Assert.That((string?)preview["access"], Is.EqualTo("shared"));
            Assert.That((string?)preview["url"], Is.EqualTo($"https://{expected}/"));
            var route = served!.Routes.Single();
            Assert.That(route.Route_.Cluster, Is.EqualTo("local|8080||cart-dev.shop"), "the preview reaches the laptop's tunnel");
            Assert.That(route.RequestHeadersToAdd.Select(h => (h.Header.Key, h.Header.Value)), Does.Contain(("x-routing-key", "feature-x")));
            Assert.That(served.TypedPerFilterConfig.Keys, Does.Contain("envoy.filters.http.ext_authz"), "a shared preview is checked");
        });

        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
        Assert.That(await GatewayRouteWatch.WaitAsync(host.XdsPort, expected, present: false, timeout.Token), Is.Null, "the agent's goodbye takes the preview host away");
    }

    [Test]
    public async Task PreviewOpen_LocalWorkload_GrantFileOpensTheLaptopsSharedPreviewOnTheRunningServer_RevokeClosesIt()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var host = await StartHostAsync(1, previewDomain: PreviewDomain);
        var expected = PreviewHostNames.Host(LocalWorkload.KindName, "shop", "cart-dev", "cart", 8080, "", PreviewDomain);
        var agent = StartPreviewAgent(host, laptop.Port, "8080:shared", "-o", "json");
        await agent.NextAsync("connected");
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        var authorization = new Authorization.AuthorizationClient(channel);
        using var timeout = new CancellationTokenSource(Patience);

        // No --preview-domain: the laptop's URL is the one the broker named to its agent (the state file records it).
        var (code, stdout, stderr) = await LocalAgentProcess.RunAsync(_state, "preview", "open", "--local-workload", "cart-dev", "-n", "shop", "--manifests", _directory, "-o", "json");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
        var printed = JsonNode.Parse(stdout)!;
        var token = (string)printed["token"]!;
        var grantFile = Path.Combine(_directory, Sandboxctl.Previews.ManifestsPreviewStore.FileName("shop", (string)printed["grant"]!));
        var firstVisit = await EventuallyCheckedAsync(authorization, expected, "/cart?token=" + token, 302, timeout.Token);
        var (listCode, list, _) = await LocalAgentProcess.RunAsync(_state, "preview", "list", "-n", "shop", "--manifests", _directory, "-o", "json");

        Assert.Multiple(() =>
        {
            Assert.That((string?)printed["link"], Is.EqualTo($"https://{expected}/?token={token}"));
            Assert.That((string?)printed["owner"]!["kind"], Is.EqualTo("LocalWorkload"));
            var written = YamlJson.Convert(File.ReadAllText(grantFile))!;
            Assert.That(((string?)written["spec"]!["localWorkload"], (string?)written["spec"]!["secretHash"]), Is.EqualTo(("cart-dev", PreviewToken.Hash(token))));
            Assert.That(PreviewCheckRequests.Header(firstVisit, "location"), Is.EqualTo("/cart"), "the running server takes the grant file: a first visit is redirected with its cookie");
            Assert.That(PreviewCheckRequests.Header(firstVisit, "set-cookie"), Does.StartWith("__Host-sandboxctl-preview="));
            Assert.That(listCode, Is.EqualTo(ExitCodes.Ok));
            var listed = JsonNode.Parse(list)!["previews"]!.AsArray().Single()!;
            Assert.That(((string?)listed["owner"]!["kind"], (string?)listed["service"], (int?)listed["port"], (string?)listed["access"], (string?)listed["url"]), Is.EqualTo(("LocalWorkload", "cart", 8080, "shared", $"https://{expected}/")));
        });

        var (revokeCode, _, revokeErr) = await LocalAgentProcess.RunAsync(_state, "preview", "revoke", "--all", "--local-workload", "cart-dev", "-n", "shop", "--manifests", _directory);
        Assert.That(revokeCode, Is.EqualTo(ExitCodes.Ok), revokeErr);
        var revoked = await EventuallyCheckedAsync(authorization, expected, "/cart?token=" + token, 401, timeout.Token);
        Assert.That(revoked.DeniedResponse.Body, Does.Contain("<html"), "a revoked token gets the 401 page");
        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
    }

    [Test]
    public async Task PreviewOpen_LocalWorkloadWhoseAgentIsGone_SaysWhyAndWhatToDo_WritesNothing()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var host = await StartHostAsync(1, previewDomain: PreviewDomain);
        var agent = StartPreviewAgent(host, laptop.Port, "8080:shared");
        await Eventually.WaitAsync(() => Task.FromResult(agent.Stdout.Contains("send requests with", StringComparison.Ordinal)), () => $"the connected lines; stdout:\n{agent.Stdout}\nstderr:\n{agent.Stderr}", Patience);
        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
        Assert.That(agent.Stdout, Does.Contain("sandboxctl preview open --local-workload cart-dev -n shop --manifests DIR"), "the agent's hint names what manifests mode needs");
        var before = Directory.GetFiles(_directory);

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(_state, "preview", "open", "--local-workload", "cart-dev", "-n", "shop", "--manifests", _directory);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain("LocalWorkloads live in the tunnel broker's memory").And.Contain("none runs here for it"));
            Assert.That(stderr, Does.Contain("sandboxctl local connect --name cart-dev -n shop --preview PORT:shared"));
            Assert.That(Directory.GetFiles(_directory), Is.EqualTo(before), "no grant file");
        });
    }

    /// <summary>Asks the running server's authorization service about <paramref name="path"/> on the laptop's preview <paramref name="host"/> until it answers <paramref name="status"/>.</summary>
    private static async Task<Envoy.Service.Auth.V3.CheckResponse> EventuallyCheckedAsync(Authorization.AuthorizationClient authorization, string host, string path, int status, CancellationToken cancellationToken)
    {
        var request = PreviewCheckRequests.For(new PreviewUnderTest(LocalWorkload.KindName, "shop", "cart-dev", "cart", 8080, Preview.Shared), path: path);
        request.Attributes.Request.Http.Host = host;
        request.Attributes.Request.Http.Headers[":authority"] = host;
        request.Attributes.ContextExtensions[PreviewAuthorizationContext.Host] = host;
        Envoy.Service.Auth.V3.CheckResponse? last = null;
        await Eventually.WaitAsync(
            async () => PreviewCheckRequests.StatusOf(last = await authorization.CheckAsync(request, cancellationToken: cancellationToken)) == status,
            () => $"the server to answer {status} for {path} (last: {(last is null ? "none" : PreviewCheckRequests.StatusOf(last))})",
            Patience);
        return last!;
    }

    [Test]
    public async Task Connect_PersonalPreview_TextPrintsTheUrl_AndWarnsThatManifestsModeOpensItToNoOne()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var host = await StartHostAsync(1, previewDomain: PreviewDomain);
        var expected = PreviewHostNames.Host(LocalWorkload.KindName, "shop", "cart-dev", "cart", 8080, "", PreviewDomain);

        var agent = StartPreviewAgent(host, laptop.Port, "8080");
        await Eventually.WaitAsync(() => Task.FromResult(agent.Stdout.Contains("send requests with", StringComparison.Ordinal)), () => $"the connected lines; stdout:\n{agent.Stdout}\nstderr:\n{agent.Stderr}", Patience);

        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
        Assert.Multiple(() =>
        {
            Assert.That(agent.Stdout, Does.Contain($"preview of port 8080 (personal): https://{expected}/"));
            Assert.That(agent.Stdout, Does.Not.Contain("sandboxctl preview open"), "no grant opens a personal preview here");
            Assert.That(agent.Stderr, Does.Contain("warning: --preview 8080 is personal, and a manifests-mode control plane opens personal previews to no one"));
        });
    }

    [Test]
    public async Task Connect_PreviewWithoutPreviewDomain_SaysItIsNotServed()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var host = await StartHostAsync(1);

        var agent = StartPreviewAgent(host, laptop.Port, "8080:public", "-o", "json");
        var connected = await agent.NextAsync("connected");

        Assert.Multiple(() =>
        {
            var preview = connected["previews"]!.AsArray().Single()!;
            Assert.That((string?)preview["access"], Is.EqualTo("public"));
            Assert.That(preview["url"], Is.Null, "no preview domain, no URL");
        });
        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
    }

    /// <summary>An agent serving Service port 8080 of cart as cart-dev in shop from <paramref name="laptopPort"/>, previewed as <paramref name="preview"/>.</summary>
    private LocalAgentProcess StartPreviewAgent(ServerHost host, int laptopPort, string preview, params string[] more) => _disposables.Track(LocalAgentProcess.Start(
        _state, ["local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{laptopPort}:8080", "--preview", preview, "--server", $"127.0.0.1:{host.TunnelPort}", "--name", "cart-dev", "-n", "shop", .. more]));

    [TestCase("nope", 8080, null, "nope", TestName = "Connect_UnknownService_ExitsOneNamingIt")]
    [TestCase("cart", 7777, null, "7777", TestName = "Connect_UnknownServicePort_ExitsOneNamingIt")]
    [TestCase("cart", 8080, "s3cret", "needs a token", TestName = "Connect_TokenRequiredButMissing_ExitsOneAskingForIt")]
    public async Task Connect_Refused_ExitsOneWithAClearError(string service, int remotePort, string? token, string message)
    {
        using var laptop = new TcpListener(System.Net.IPAddress.Loopback, 0);
        laptop.Start();
        var host = await StartHostAsync(1, token);
        _log.Expect("refused");

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(
            _state, "local", "connect", "--routing-key", "feature-x", "--service", service, "--port", $"{((System.Net.IPEndPoint)laptop.LocalEndpoint).Port}:{remotePort}",
            "--server", $"127.0.0.1:{host.TunnelPort}", "-n", "shop");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError), stderr);
            Assert.That(stderr, Does.Contain("error: ").And.Contain(message));
            Assert.That(stderr, Does.Contain("hint: "));
        });
    }

    [Test]
    public async Task Connect_BrokerUnreachable_ExitsTwoNamingTheAddress()
    {
        using var laptop = new TcpListener(System.Net.IPAddress.Loopback, 0);
        laptop.Start();
        var nobody = FreePort.Next();

        var (code, _, stderr) = await LocalAgentProcess.RunAsync(
            _state, "local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{((System.Net.IPEndPoint)laptop.LocalEndpoint).Port}:8080",
            "--server", $"127.0.0.1:{nobody}", "-n", "shop");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.ConnectionError), stderr);
            Assert.That(stderr, Does.Contain($"cannot reach the tunnel broker at 127.0.0.1:{nobody}"));
        });
    }

    [Test]
    public async Task Connect_Force_TakesTheWorkloadOverFromALiveAgent_WhichIsRefusedFromThenOn()
    {
        var one = _disposables.Track(new LocalHttpEcho("laptop-one"));
        var two = _disposables.Track(new LocalHttpEcho("laptop-two"));
        var host = await StartHostAsync(1);
        _log.Expect("Refused an agent");
        var otherState = Directory.CreateTempSubdirectory("local-state-other-").FullName;
        string[] Args(int port, params string[] more) =>
            ["local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{port}:8080", "--server", $"127.0.0.1:{host.TunnelPort}", "--name", "cart-dev", "-n", "shop", "-o", "json", .. more];

        try
        {
            var holder = _disposables.Track(LocalAgentProcess.Start(_state, Args(one.Port)));
            var held = await holder.NextAsync("connected");
            var (refusedCode, _, refused) = await LocalAgentProcess.RunAsync(otherState, Args(two.Port));

            var forcing = _disposables.Track(LocalAgentProcess.Start(otherState, Args(two.Port, "--force")));
            var forced = await forcing.NextAsync("connected");
            var endpoint = (string)forced["endpoints"]![0]!["endpoint"]!;
            var answer = await LocalHttpEcho.GetAsync(int.Parse(endpoint.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture), "/cart", "x-routing-key: feature-x");
            var holderCode = await holder.ExitCodeAsync();

            Assert.Multiple(() =>
            {
                Assert.That(refusedCode, Is.EqualTo(ExitCodes.UserError), refused);
                Assert.That(refused, Does.Contain("another agent is connected").And.Contain("--force"));
                Assert.That(endpoint, Is.EqualTo((string?)held["endpoints"]![0]!["endpoint"]), "the same broker endpoint");
                Assert.That(answer, Does.StartWith("laptop-two\nGET /cart"), "keyed requests reach the agent that forced");
                Assert.That(holderCode, Is.EqualTo(ExitCodes.UserError), holder.Stderr);
                Assert.That(holder.Stderr, Does.Contain("was taken over by another agent"));
            });
            Assert.That(await forcing.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), forcing.Stderr);
        }
        finally
        {
            Directory.Delete(otherState, recursive: true);
        }
    }

    [Test]
    public async Task Expose_GrpcBidiHttp1WebSocketAndRawTcp_KeyAddedToHttpAndGrpc_RawBytesUntouched()
    {
        var (agent, ports) = await ConnectWithExposesAsync();

        using var channel = GrpcChannel.ForAddress($"http://localhost:{ports.Grpc}");
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(Bidi, null, new CallOptions(
            new Metadata { { "baggage", "tenant=acme" } }, deadline: DateTime.UtcNow + Patience));
        var headers = await call.ResponseHeadersAsync.WaitAsync(Patience);
        var echoes = new List<string>();
        foreach (var message in new[] { "one", "two", "three" })
        {
            // Each message comes back before the next is sent: a real bidi stream, not a buffered request.
            await call.RequestStream.WriteAsync(message).WaitAsync(Patience);
            Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Patience), Is.True, agent.Stderr);
            echoes.Add(call.ResponseStream.Current);
        }

        await call.RequestStream.CompleteAsync().WaitAsync(Patience);
        var more = await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Patience);

        var v4 = await LocalHttpEcho.GetAsync(ports.Http, "/orders", "baggage: tenant=acme");
        var v6 = await GetOverIPv6Async(ports.Http, "/orders");
        var ownKey = await LocalHttpEcho.GetAsync(ports.Http, "/orders", "x-routing-key: other");
        var grpcJs = await GrpcJsBidiAsync(ports.Grpc, "uno", "dos");
        var raw = await EchoRawAsync(ports.Raw, [0x00, 0x01, 0xff, (byte)'h', (byte)'i', (byte)'\n']);
        var webSocket = await EchoWebSocketAsync(ports.WebSocket, "hello");

        Assert.Multiple(() =>
        {
            Assert.That(headers.GetValue("seen-routing-key"), Is.EqualTo("feature-x"));
            Assert.That(headers.GetValue("seen-baggage"), Is.EqualTo("tenant=acme,routing-key=feature-x"));
            Assert.That(echoes, Is.EqualTo(new[] { "one", "two", "three" }));
            Assert.That(more, Is.False);
            Assert.That(call.GetStatus().StatusCode, Is.EqualTo(StatusCode.OK));
            Assert.That(call.GetTrailers().GetValue("echoed-bytes"), Is.EqualTo("26"), "5-byte frame prefixes and the three messages");

            Assert.That((int?)grpcJs["code"], Is.Zero, grpcJs.ToJsonString());
            Assert.That((string?)grpcJs["headers"]!["seen-routing-key"], Is.EqualTo("feature-x"), "a @grpc/grpc-js call gets the key too");
            Assert.That((string?)grpcJs["headers"]!["seen-baggage"], Is.EqualTo("tenant=acme,routing-key=feature-x"));
            Assert.That(grpcJs["echoes"]!.AsArray().Select(e => (string?)e), Is.EqualTo(new[] { "uno", "dos" }));
            Assert.That((string?)grpcJs["trailers"]!["echoed-bytes"], Is.EqualTo("16"));

            Assert.That(v4, Does.StartWith("orders-baseline\nGET /orders HTTP/1.1"));
            Assert.That(v4, Does.Contain("x-routing-key: feature-x\r\n"));
            Assert.That(v4, Does.Contain("baggage: tenant=acme,routing-key=feature-x\r\n"));
            Assert.That(v4, Does.Contain("Host: test\r\n"), "the app's authority goes on");
            Assert.That(v6, Does.Contain("x-routing-key: feature-x\r\n"));
            Assert.That(ownKey, Does.Contain("x-routing-key: other\r\n").And.Contain("baggage: routing-key=other\r\n").And.Not.Contain("feature-x"));
            Assert.That(webSocket, Is.EqualTo(new[] { "seen-routing-key=feature-x", "hello" }), "an HTTP/1.1 upgrade switches through the proxy");
            Assert.That(raw, Is.EqualTo(new byte[] { 0x00, 0x01, 0xff, (byte)'h', (byte)'i', (byte)'\n' }));
        });

        Assert.That(await agent.TerminateAsync(), Is.EqualTo(ExitCodes.Ok), agent.Stderr);
    }

    private static async Task<string> GetOverIPv6Async(int port, string path)
    {
        if (!Socket.OSSupportsIPv6)
        {
            Prerequisite.Missing("this machine has no IPv6");
        }

        using var client = new TcpClient(AddressFamily.InterNetworkV6);
        await client.ConnectAsync(IPAddress.IPv6Loopback, port).WaitAsync(Patience);
        return await LocalHttpEcho.SendAsync(client.GetStream(), path).WaitAsync(Patience);
    }

    private static async Task<string[]> EchoWebSocketAsync(int port, string message)
    {
        using var client = new System.Net.WebSockets.ClientWebSocket();
        using var timeout = new CancellationTokenSource(Patience);
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/events"), timeout.Token);
        var buffer = new byte[4096];
        var first = await client.ReceiveAsync(buffer, timeout.Token);
        var greeting = Encoding.UTF8.GetString(buffer, 0, first.Count);
        await client.SendAsync(Encoding.UTF8.GetBytes(message), System.Net.WebSockets.WebSocketMessageType.Text, true, timeout.Token);
        var echo = await client.ReceiveAsync(buffer, timeout.Token);
        var echoed = Encoding.UTF8.GetString(buffer, 0, echo.Count);
        await client.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        return [greeting, echoed];
    }

    /// <summary>A bidi call of @grpc/grpc-js (tests/node/bidi-client.mjs) to <c>localhost:port</c>: what it saw.</summary>
    private static async Task<JsonNode> GrpcJsBidiAsync(int port, params string[] messages)
    {
        var start = new System.Diagnostics.ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(RepoDirectory.Path("tests", "node", "bidi-client.mjs"));
        start.ArgumentList.Add($"localhost:{port}");
        messages.ToList().ForEach(start.ArgumentList.Add);
        using var node = System.Diagnostics.Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(Patience);
        return JsonNode.Parse(await output) ?? throw new AssertionException($"no output from bidi-client.mjs: {await errors}");
    }

    private static async Task<byte[]> EchoRawAsync(int port, byte[] bytes)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Patience);
        var stream = client.GetStream();
        await stream.WriteAsync(bytes);
        var back = new byte[bytes.Length];
        await stream.ReadExactlyAsync(back).AsTask().WaitAsync(Patience);
        return back;
    }

    /// <summary>After Goodbye the broker's listener for the workload closes (or refuses what it accepts).</summary>
    private static async Task AssertRefusedAsync(int brokerPort)
    {
        try
        {
            var answer = await LocalHttpEcho.GetAsync(brokerPort, "/cart", "x-routing-key: feature-x").WaitAsync(Patience);
            Assert.That(answer, Does.Not.StartWith("laptop"));
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            // Refused or closed: the workload is gone.
        }
    }

    private async Task<ServerHost> StartHostAsync(int ordersPort, string? token = null, string moreManifests = "", string? previewDomain = null)
    {
        File.WriteAllText(Path.Combine(_directory, "shop.yaml"), $$"""
            apiVersion: v1
            kind: Service
            metadata: {name: cart, namespace: shop}
            spec:
              ports:
              - {name: http, port: 8080}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: orders, namespace: shop}
            spec:
              ports:
              - {name: http, port: 8080}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: orders-1, namespace: shop, labels: {kubernetes.io/service-name: orders} }
            addressType: IPv4
            ports: [{name: http, port: {{ordersPort}}}]
            endpoints:
            - {addresses: [127.0.0.1], conditions: {ready: true} }
            {{moreManifests}}
            """);
        var host = await LocalBrokerHost.StartAsync(_log, manifests: _directory, token: token, previewDomain: previewDomain);
        _disposables.Track(host);
        return host;
    }

    private async Task<(LocalAgentProcess Agent, (int Http, int Grpc, int Raw, int WebSocket) Ports)> ConnectWithExposesAsync()
    {
        var laptop = _disposables.Track(new LocalHttpEcho("laptop"));
        var orders = _disposables.Track(new LocalHttpEcho("orders-baseline"));
        var kestrel = _disposables.Track(await LocalKestrelEcho.StartAsync());
        var raw = _disposables.Track(new LocalTcpEcho());
        var host = await StartHostAsync(orders.Port, moreManifests: $"{Target("echo", "grpc", 9090, kestrel.GrpcPort)}\n{Target("cache", "tcp", 7000, raw.Port)}\n{Target("events", "http", 8081, kestrel.WebSocketPort)}");
        var ports = (Http: FreePort.Next(), Grpc: FreePort.Next(), Raw: FreePort.Next(), WebSocket: FreePort.Next());
        var agent = _disposables.Track(LocalAgentProcess.Start(
            _state, "local", "connect", "--routing-key", "feature-x", "--service", "cart", "--port", $"{laptop.Port}:8080",
            "--expose", $"orders:8080={ports.Http}", "--expose", $"echo:9090={ports.Grpc}", "--expose", $"cache:7000={ports.Raw}", "--expose", $"events:8081={ports.WebSocket}",
            "--server", $"127.0.0.1:{host.TunnelPort}", "--name", "cart-dev", "-n", "shop", "-o", "json"));
        await agent.NextAsync("connected");
        return (agent, ports);
    }

    private static string Target(string name, string portName, int port, int backend) => $$"""
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: {{name}}, namespace: shop}
        spec:
          ports:
          - {name: {{portName}}, port: {{port}}}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: {{name}}-1, namespace: shop, labels: {kubernetes.io/service-name: {{name}}} }
        addressType: IPv4
        ports: [{name: {{portName}}, port: {{backend}}}]
        endpoints:
        - {addresses: [127.0.0.1], conditions: {ready: true} }
        """;
}
