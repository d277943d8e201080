using System.Net;
using PuppeteerSharp;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// What a real browser makes of the preview Authorization service's answers: headless Chromium (the machine's
/// chromium; skipped without one, failed under CI=true) opens a shared preview of a server in manifests mode through
/// <see cref="ExtAuthzFront"/>, the ext_authz stand-in. A first visit with <c>?token=</c> is redirected with the session
/// cookie, which Chromium keeps — a <c>__Host-</c> cookie is dropped silently unless it is Secure, Path=/ and has no
/// Domain —, follows to the address without the token and sends back, and the service takes; scripts cannot read it;
/// it rides a WebSocket upgrade from the page; a browser without it is shown the 401 page as HTML (Chromium's own
/// Accept header). The same flow through the real gateway Envoy is PreviewWholePathTests (Docker category).
/// </summary>
[NonParallelizable]
public sealed class PreviewBrowserTests
{
    private const string Domain = "preview.example.com";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly PreviewUnderTest Shared = new(Sandbox.KindName, "shop", "feature-x", "cart", 8080, Preview.Shared);

    private readonly HostLog _log = new();
    private string _directory = "";

    [SetUp]
    public void CreateDirectory()
    {
        if (HeadlessChromium.Find() is null)
        {
            Prerequisite.Missing("headless Chromium: no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)");
        }

        _directory = Directory.CreateTempSubdirectory("preview-browser-").FullName;
    }

    [TearDown]
    public void RemoveDirectory()
    {
        _log.AssertNoUnexpectedWarnings();
        if (_directory.Length > 0)
        {
            Directory.Delete(_directory, recursive: true);
            File.Delete(_directory + ".key");
        }
    }

    [Test]
    public async Task Chromium_FirstVisitKeepsTheSecureCookie_FollowsWithoutTheToken_WebSocketCarriesIt_StrangerSees401Page()
    {
        var token = PreviewToken.Create();
        var certificate = TestCertificates.Wildcard(Domain);
        await File.WriteAllTextAsync(Path.Combine(_directory, "shop.yaml"), Manifests(PreviewToken.Hash(token)));
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await new InProcessServer().WithLog(_log).WithManifests(_directory)
            .With("Translation:PreviewDomain", Domain).With("Translation:PreviewSalt", "test-salt")
            .With("PreviewAccess:SessionKeyFile", _directory + ".key")
            .StartAsync(cancel.Token);
        using (var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}"))
        {
            var authorization = new global::Envoy.Service.Auth.V3.Authorization.AuthorizationClient(channel);
            await Eventually.WaitAsync(
                async () => PreviewCheckRequests.StatusOf(await authorization.CheckAsync(PreviewCheckRequests.For(Shared, headers: ("authorization", "Bearer " + token)), cancellationToken: cancel.Token)) == 200,
                "the grant file to be read");
        }

        await using var front = await ExtAuthzFront.StartAsync(host.XdsPort, certificate, Shared, cancel.Token);
        var origin = $"https://{Shared.Host}:{front.Port}";
        await using var browser = await HeadlessChromium.LaunchAsync(Domain, certificate.ChainPem);

        var visit = await PreviewVisit.RunAsync(browser, origin, "/cart?page=2", token, "hello");

        Assert.Multiple(() =>
        {
            Assert.That(visit.Redirect, Is.EqualTo(HttpStatusCode.Found), "one redirect: the first visit");
            Assert.That(visit.Landed, Is.EqualTo(($"{origin}/cart?page=2", HttpStatusCode.OK)), "the token is gone from the address bar; the cookie alone opened the page");
            Assert.That(visit.PageText, Does.StartWith("application\nGET /cart?page=2"));
            Assert.That(visit.CookieAttributes, Is.EqualTo(((bool?)true, (bool?)true, (SameSite?)SameSite.Lax, "/", Shared.Host)), "Chromium kept the cookie: HttpOnly, Secure, Lax, for this host only");
            Assert.That(visit.ScriptCookies, Does.Not.Contain("sandboxctl-preview"), "scripts on the page cannot read it");
            Assert.That(visit.Echoed, Is.EqualTo("application: hello"), "the WebSocket upgrade carried the cookie");
            Assert.That(visit.Stranger.Status, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(visit.Stranger.ContentType, Does.StartWith("text/html"), "a browser gets the page, not JSON");
            Assert.That(visit.Stranger.Text, Does.Contain("Sign-in needed").And.Contain("sandboxctl preview open feature-x -n shop"));
        });
    }

    private static string Manifests(string hash) => $$"""
        apiVersion: v1
        kind: Service
        metadata: {name: cart, namespace: shop}
        spec:
          ports: [{name: http, port: 8080}]
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
        metadata: {name: browser, namespace: shop}
        spec:
          sandbox: feature-x
          secretHash: {{hash}}
          expiresAt: {{PreviewGrant.FormatTimestamp(DateTimeOffset.UtcNow.AddHours(2))}}
        """;
}
