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
using SameSite = PuppeteerSharp.SameSite;
using XdsControlPlane.Docker.Tests.Cluster;
using XdsControlPlane.Kubernetes.Admission.Injection;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Docker.Tests.Previews;

/// <summary>
/// A preview URL end to end through a real Envoy and headless Chromium: the repository's default Envoy image runs as
/// the gateway with the bootstrap <c>sandboxctl bootstrap --role gateway</c> renders (host networking, so it reaches
/// the control plane and the backends on loopback), the control plane runs in this process in manifests mode with a
/// preview domain and a wildcard certificate, and the previewed Service and the Sandbox's fork of it are HTTP and
/// WebSocket echoes in this process. The machine's chromium (tests/Shared/HeadlessChromium.cs: preview names mapped to
/// loopback, the test's certificate trusted by its key) opens the first visit with <c>?token=</c>: the gateway answers
/// 302 with the session cookie, Chromium keeps it and follows to the address without the token, and the page comes
/// from the fork carrying the Sandbox's routing key; a WebSocket from the page, with the same cookie, echoes; another
/// browser profile without the cookie is shown the 401 page. Without a Docker engine each test is reported skipped
/// with the reason — never passed; with one but no chromium, skipped too (failed under CI=true).
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
    private string _certificatePem = "";
    private string _previewHost = "";
    private int _httpsPort;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        await DockerEngine.RequireAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        _directory = Directory.CreateTempSubdirectory("preview-whole-path-").FullName;
        var baseline = await StartBackendAsync("baseline", timeout.Token);
        var fork = await StartBackendAsync("fork", timeout.Token);
        var certificate = TestCertificates.Wildcard(Domain);
        _certificatePem = certificate.ChainPem;
        await File.WriteAllTextAsync(Path.Combine(_directory, "tls.crt"), certificate.ChainPem, timeout.Token);
        await File.WriteAllTextAsync(Path.Combine(_directory, "tls.key"), certificate.KeyPem, timeout.Token);
        _token = PreviewToken.Create();
        var manifests = Directory.CreateDirectory(Path.Combine(_directory, "manifests")).FullName;
        await File.WriteAllTextAsync(Path.Combine(manifests, "shop.yaml"), Manifests(baseline, fork, PreviewToken.Hash(_token)), timeout.Token);

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
    public async Task Browser_FirstVisitWithToken_CookieSet_PageFromTheForkWithTheKey_WebSocketEchoes_NoTokenGets401Page()
    {
        var origin = $"https://{_previewHost}:{_httpsPort}";
        await using var browser = await HeadlessChromium.LaunchAsync(Domain, _certificatePem);

        // The browser also sends a routing key of its own choosing: the gateway replaces it with the Sandbox's.
        var visit = await PreviewVisit.RunAsync(browser, origin, "/cart?page=2", _token, "hello through the preview", new Dictionary<string, string> { ["x-routing-key"] = "someone-else" });

        Assert.Multiple(() =>
        {
            Assert.That(visit.Redirect, Is.EqualTo(HttpStatusCode.Found), "one redirect: the first visit, answered by the gateway for the authorization service");
            Assert.That(visit.Landed, Is.EqualTo(($"{origin}/cart?page=2", HttpStatusCode.OK)), "the token is gone from the address bar; the cookie alone opened the page");
            Assert.That(visit.CookieAttributes, Is.EqualTo(((bool?)true, (bool?)true, (SameSite?)SameSite.Lax, "/", _previewHost)), "Chromium kept the cookie: HttpOnly, Secure, Lax, for this host only");
            Assert.That(visit.ScriptCookies, Does.Not.Contain("sandboxctl-preview"), "scripts on the page cannot read it");
            Assert.That(visit.PageText, Does.StartWith("fork\nGET /cart?page=2"), "served by the Sandbox's fork of cart");
            Assert.That(visit.PageText, Does.Contain("x-routing-key: feature-x").And.Contain("baggage: routing-key=feature-x").And.Not.Contain("someone-else"), "the Sandbox's key, whatever the browser sent");
            Assert.That(visit.Echoed, Is.EqualTo("fork: hello through the preview"), "a WebSocket from the page, with the cookie, through the gateway to the fork");
            Assert.That(visit.Stranger.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(visit.Stranger.ContentType, Does.StartWith("text/html"), "a browser gets the page, not JSON");
            Assert.That(visit.Stranger.Text, Does.Contain("Sign-in needed").And.Contain("sandboxctl preview open feature-x -n shop"));
        });
    }

    /// <summary>
    /// The previewed Service cart (its endpoint the baseline echo), the Sandbox's fork of it (the fork echo), the
    /// Sandbox with a shared preview of cart, and a grant whose token opens it.
    /// </summary>
    private static string Manifests(int baseline, int fork, string hash) => $$"""
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
        ports: [{name: http, port: {{baseline}}}]
        endpoints:
        - {addresses: [127.0.0.1], conditions: {ready: true} }
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: cart-feature-x
          namespace: shop
          labels: {sandboxctl.io/sandbox: feature-x, sandboxctl.io/fork-of: cart}
        spec:
          ports: [{name: http, port: 8080}]
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: cart-feature-x-1, namespace: shop, labels: {kubernetes.io/service-name: cart-feature-x} }
        addressType: IPv4
        ports: [{name: http, port: {{fork}}}]
        endpoints:
        - {addresses: [127.0.0.1], conditions: {ready: true} }
        ---
        apiVersion: sandboxctl.io/v1alpha1
        kind: Sandbox
        metadata: {name: feature-x, namespace: shop}
        spec:
          routingKey: feature-x
          forks:
          - of: {kind: Deployment, name: cart}
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

    /// <summary>
    /// An echo named <paramref name="name"/> on loopback: HTTP answers its name, the request line and the headers; at
    /// <c>/ws</c> a WebSocket answers the first message prefixed with its name.
    /// </summary>
    private async Task<int> StartBackendAsync(string name, CancellationToken cancellationToken)
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
            await socket.SendAsync(Encoding.UTF8.GetBytes($"{name}: {Encoding.UTF8.GetString(buffer, 0, received.Count)}"), WebSocketMessageType.Text, endOfMessage: true, context.RequestAborted);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", context.RequestAborted);
        });
        app.MapFallback((HttpContext context) => Results.Text(
            $"{name}\n{context.Request.Method} {context.Request.Path}{context.Request.QueryString}\n" + string.Concat(context.Request.Headers.Select(h => $"{h.Key.ToLowerInvariant()}: {h.Value}\n"))));
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
