using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Configurations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using XdsControlPlane.Docker.Tests.Cluster;
using XdsControlPlane.Kubernetes.Admission.Injection;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Docker.Tests.Previews;

/// <summary>
/// A preview URL end to end through a real Envoy: the repository's default Envoy image runs as the gateway with the
/// bootstrap <c>sandboxctl bootstrap --role gateway</c> renders (host networking, so it reaches the control plane and the
/// backend on loopback), the control plane runs in this process in manifests mode with a preview domain and a wildcard
/// certificate, and the previewed Service's endpoint is an HTTP and WebSocket echo in this process. A first visit with
/// <c>?token=</c> is answered 302 with the session cookie; the page then opened with the cookie reaches the backend
/// carrying the Sandbox's routing key; a WebSocket through the preview, with the same cookie, echoes. Without a Docker
/// engine each test is reported skipped with the reason — never passed.
/// </summary>
[TestFixture]
[Category("Docker")]
[NonParallelizable]
public sealed class PreviewWholePathTests
{
    private const string Domain = "preview.test";
    private static readonly TimeSpan Converge = TimeSpan.FromMinutes(2);

    private readonly List<IAsyncDisposable> _disposables = [];
    private string _directory = "";
    private string _token = "";
    private string _previewHost = "";
    private int _httpsPort;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        await DockerEngine.RequireAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        _directory = Directory.CreateTempSubdirectory("preview-whole-path-").FullName;
        var backend = await StartBackendAsync(timeout.Token);
        var certificate = TestCertificates.Wildcard(Domain);
        await File.WriteAllTextAsync(Path.Combine(_directory, "tls.crt"), certificate.ChainPem, timeout.Token);
        await File.WriteAllTextAsync(Path.Combine(_directory, "tls.key"), certificate.KeyPem, timeout.Token);
        _token = PreviewToken.Create();
        var manifests = Directory.CreateDirectory(Path.Combine(_directory, "manifests")).FullName;
        await File.WriteAllTextAsync(Path.Combine(manifests, "shop.yaml"), Manifests(backend, PreviewToken.Hash(_token)), timeout.Token);

        _httpsPort = FreePort.Next();
        var server = await new InProcessServer()
            .WithManifests(manifests)
            .With("Translation:PreviewDomain", Domain)
            .With("Translation:GatewayPort", FreePort.Next())
            .With("Translation:GatewayHttpsPort", _httpsPort)
            .With("GatewayTls:CertFile", Path.Combine(_directory, "tls.crt"))
            .With("GatewayTls:KeyFile", Path.Combine(_directory, "tls.key"))
            .StartAsync(timeout.Token);
        _disposables.Add(server);
        _previewHost = PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-x", "cart", 8080, "", Domain);

        // The bootstrap sandboxctl bootstrap --role gateway prints, pointed at this process; readable by the image's envoy user.
        var bootstrap = Path.Combine(_directory, "bootstrap.yaml");
        await File.WriteAllTextAsync(bootstrap, EnvoyBootstrapRenderer.ToYaml(EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest { Role = DataPlaneRoles.Gateway, XdsHost = "127.0.0.1", XdsPort = server.XdsPort })), timeout.Token);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.SetUnixFileMode(bootstrap, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        var envoy = new ContainerBuilder(new SidecarInjectionOptions().ProxyImage)
            .WithCreateParameterModifier(parameters => parameters.HostConfig!.NetworkMode = "host")
            .WithBindMount(bootstrap, "/etc/envoy/bootstrap.yaml", AccessMode.ReadOnly)
            .WithCommand("-c", "/etc/envoy/bootstrap.yaml", "--base-id", "7")
            .Build();
        _disposables.Add(envoy);
        await envoy.StartAsync(timeout.Token);

        // The gateway took the preview host, its TLS certificate (SDS) and the authorization cluster: a tokenless visit is 401.
        await Eventually.WaitAsync(
            async () => await StatusOrZeroAsync(envoy) == HttpStatusCode.Unauthorized,
            () => $"the gateway Envoy answers the preview host with 401 ({_previewHost})",
            Converge);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        for (var i = _disposables.Count - 1; i >= 0; i--)
        {
            await _disposables[i].DisposeAsync();
        }

        if (_directory.Length > 0)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Test]
    public async Task FirstVisitWithToken_RedirectsWithACookie_ThenThePageCarriesTheRoutingKey()
    {
        using var client = Client();

        using var first = await client.GetAsync(new Uri($"https://{_previewHost}/cart?page=2&token={_token}"));
        var cookie = first.Headers.TryGetValues("set-cookie", out var set) ? set.Single() : "";
        var session = cookie.Split(';')[0];
        using var page = new HttpRequestMessage(HttpMethod.Get, new Uri($"https://{_previewHost}/cart?page=2"));
        page.Headers.Add("cookie", session);
        page.Headers.Add("x-routing-key", "someone-else");
        using var answer = await client.SendAsync(page);
        var body = await answer.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Found));
            Assert.That(first.Headers.Location?.OriginalString, Is.EqualTo("/cart?page=2"), "the token is stripped");
            Assert.That(cookie, Does.StartWith("__Host-sandboxctl-preview=").And.Contain("Secure").And.Contain("HttpOnly").And.Contain("SameSite=Lax"));
            Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
            Assert.That(body, Does.Contain("x-routing-key: feature-x").And.Not.Contain("someone-else"), "the Sandbox's key, whatever the browser sent");
        });
    }

    [Test]
    public async Task WebSocketThroughThePreview_WithTheSessionCookie_Echoes()
    {
        using var client = Client();
        using var first = await client.GetAsync(new Uri($"https://{_previewHost}/?token={_token}"));
        var session = first.Headers.GetValues("set-cookie").Single().Split(';')[0];

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("cookie", session);
        socket.Options.HttpVersion = HttpVersion.Version11;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(new Uri($"wss://{_previewHost}/ws"), new HttpMessageInvoker(Handler()), timeout.Token);
        await socket.SendAsync(Encoding.UTF8.GetBytes("hello through the preview"), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        var buffer = new byte[256];
        var received = await socket.ReceiveAsync(buffer, timeout.Token);

        Assert.That(Encoding.UTF8.GetString(buffer, 0, received.Count), Is.EqualTo("hello through the preview"));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
    }

    /// <summary>The previewed Service cart (its endpoint the echo), the Sandbox with a shared preview of it, and a grant whose token opens it.</summary>
    private static string Manifests(int backend, string hash) => $$"""
        apiVersion: v1
        kind: Service
        metadata: {name: cart, namespace: shop}
        spec:
          ports: [{name: http, port: 8080}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: cart-1, namespace: shop, labels: {kubernetes.io/service-name: cart} }
        addressType: IPv4
        ports: [{name: http, port: {{backend}}}]
        endpoints:
        - {addresses: [127.0.0.1], conditions: {ready: true} }
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: Sandbox
        metadata: {name: feature-x, namespace: shop}
        spec:
          routingKey: feature-x
          previews: [{service: cart, port: 8080, access: shared}]
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: PreviewGrant
        metadata: {name: whole-path, namespace: shop}
        spec:
          sandbox: feature-x
          secretHash: {{hash}}
          expiresAt: {{PreviewGrant.FormatTimestamp(DateTimeOffset.UtcNow.AddHours(2))}}
        """;

    /// <summary>An HTTP echo (the request line and headers) and, at <c>/ws</c>, a WebSocket echo, on loopback.</summary>
    private async Task<int> StartBackendAsync(CancellationToken cancellationToken)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/ws", async (HttpContext context) =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[256];
            var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
            await socket.SendAsync(buffer.AsMemory(0, received.Count), WebSocketMessageType.Text, endOfMessage: true, context.RequestAborted);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", context.RequestAborted);
        });
        app.MapFallback((HttpContext context) => Results.Text(
            $"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}\n" + string.Concat(context.Request.Headers.Select(h => $"{h.Key.ToLowerInvariant()}: {h.Value}\n"))));
        await app.StartAsync(cancellationToken);
        _disposables.Add(app);
        return port;
    }

    /// <summary>A client for the preview host: every connection goes to the gateway's HTTPS port on loopback, with SNI the host, trusting the test's CA.</summary>
    private HttpClient Client() => new(Handler()) { Timeout = TimeSpan.FromSeconds(30) };

    private SocketsHttpHandler Handler() => new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _httpsPort), cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },

        // The wildcard is signed by the test's throwaway CA: the name must match, the chain is the test's own.
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, certificate, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None && certificate is X509Certificate2 },
    };

    private async Task<HttpStatusCode> StatusOrZeroAsync(IContainer envoy)
    {
        try
        {
            using var client = Client();
            using var response = await client.GetAsync(new Uri($"https://{_previewHost}/"));
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            TestContext.Out.WriteLine($"the gateway does not answer yet (container {envoy.State})");
            return 0;
        }
    }
}
