using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Serilog.Formatting.Compact;
using XdsControlPlane.Testing;
using XdsControlPlane.Xds.Resources;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// Node identity from a ServiceAccount token (<c>--xds-token-review</c>): a real gRPC ADS client on loopback sends a
/// projected token as <c>authorization: Bearer</c> metadata, the server in Kubernetes mode reviews it with the official
/// client against the fake API server's TokenReview, and holds the ServiceAccount against the node's role with the same
/// grants, status and metric as a client certificate's SPIFFE ID.
/// </summary>
public sealed class NodeTokenReviewTests
{
    private const string ReviewPermission = "authentication.k8s.io/tokenreviews:create";
    private static readonly string[] OurAudience = ["sandboxctl-xds"];
    private readonly HostLog _log = new();
    private TestCertificateAuthority _ca = null!;
    private string _tls = "";

    [SetUp]
    public void WriteServerCertificate()
    {
        _log.Clear();
        _ca = new TestCertificateAuthority();
        _tls = Directory.CreateTempSubdirectory("xdscp-token-").FullName;
        var pair = _ca.Server();
        File.WriteAllText(Path.Combine(_tls, "tls.key"), pair.KeyPem);
        File.WriteAllText(Path.Combine(_tls, "tls.crt"), pair.ChainPem);
        File.WriteAllText(Path.Combine(_tls, "ca.crt"), _ca.CaPem);
    }

    [TearDown]
    public void Clean()
    {
        _ca.Dispose();
        Directory.Delete(_tls, recursive: true);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task TokenOfItsServiceAccount_ServedItsRole_AnotherRoleRefusedNamingWhatAndWho_AndCounted()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var api = await StartApiAsync();
        await using var host = await StartAsync(api, "Optional", cancel.Token, ("Xds:RoleIdentities:0", "gateway=edge/gateway"), ("Xds:RoleIdentities:1", "sidecar=*/*"));
        var before = await MetricsAsync(host, cancel.Token);
        var web = api.IssueServiceAccountToken("shop", "web", OurAudience);
        var gateway = api.IssueServiceAccountToken("edge", "gateway", OurAudience);

        var sidecar = await FirstClustersAsync(host, web, "sidecar", cancel.Token);
        var refused = Assert.ThrowsAsync<RpcException>(async () => await FirstClustersAsync(host, web, "gateway", cancel.Token));
        var granted = await FirstClustersAsync(host, gateway, "gateway", cancel.Token);
        var anonymous = await FirstClustersAsync(host, null, "sidecar", cancel.Token);
        var metrics = await MetricsAsync(host, cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(sidecar.TypeUrl, Is.EqualTo(TypeUrls.Cluster));
            Assert.That(sidecar.Resources, Is.Not.Empty, "shop/web's token gets the sidecar's clusters");
            Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(refused.Status.Detail, Is.EqualTo("node 'gateway-1' asked for the gateway configuration as spiffe://cluster.local/ns/shop/sa/web (ServiceAccount token), which may take only sidecar: no grant gateway=shop/web in Xds:RoleIdentities (--xds-role-identity)"));
            Assert.That(granted.Resources, Is.Not.Empty, "edge/gateway's token gets the gateway's clusters");
            Assert.That(anonymous.Resources, Is.Not.Empty, "optional: a client without a token is served");
            Assert.That(Delta(before, metrics, "xds_node_identity_refusals_total{group=\"gateway\",reason=\"role\"}"), Is.EqualTo(1));
            Assert.That(api.RequestCount(ReviewPermission), Is.EqualTo(2), "one review per token: web's second stream used the cached verdict");
            Assert.That(Delta(before, metrics, "xds_token_reviews_total{result=\"cached\"}"), Is.EqualTo(1));
            Assert.That(api.TokenReviewAudiences, Has.All.EqualTo(OurAudience), "every review names the audience");
            Assert.That(_log.Events.Count(e => e.EventId == 1306), Is.EqualTo(1), "the refusal logged");
            Assert.That(_log.Events.Count(e => e.EventId == 7800), Is.EqualTo(1), "token review announced on start");
        });
    }

    [Test]
    public async Task TokensThatProveNoServiceAccountForUs_AreRefused_EachWithItsReason()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var api = await StartApiAsync();
        await using var host = await StartAsync(api, "Optional", cancel.Token);
        var before = await MetricsAsync(host, cancel.Token);
        var revoked = api.IssueServiceAccountToken("shop", "web", OurAudience);
        api.Revoke(revoked);
        var forTheApiServer = api.IssueServiceAccountToken("shop", "web");
        var user = api.IssueUserToken("alice@example.com", OurAudience);

        var unknown = Refused(host, "Bearer " + revoked, cancel.Token);
        var audience = Refused(host, "Bearer " + forTheApiServer, cancel.Token);
        var notServiceAccount = Refused(host, "Bearer " + user, cancel.Token);
        var huge = Refused(host, "Bearer " + new string('a', 9000), cancel.Token);
        var basic = Refused(host, "Basic YWxpY2U6c2VjcmV0", cancel.Token);
        var metrics = await MetricsAsync(host, cancel.Token);

        Assert.Multiple(() =>
        {
            foreach (var refusal in new[] { unknown, audience, notServiceAccount, huge, basic })
            {
                Assert.That(refusal.StatusCode, Is.EqualTo(StatusCode.PermissionDenied), refusal.Status.Detail);
                Assert.That(refusal.Status.Detail, Does.StartWith("node 'sidecar-1' asked for the sidecar configuration with a ServiceAccount token that "));
            }

            Assert.That(unknown.Status.Detail, Does.EndWith("the API server did not authenticate ([invalid bearer token, token lookup failed])"));
            Assert.That(audience.Status.Detail, Does.Contain("is invalid for the target audiences [\"sandboxctl-xds\"]"));
            Assert.That(notServiceAccount.Status.Detail, Does.EndWith("authenticates 'alice@example.com', not a ServiceAccount (system:serviceaccount:<namespace>:<name>)"));
            Assert.That(huge.Status.Detail, Does.EndWith("is longer than 8192 bytes"));
            Assert.That(basic.Status.Detail, Does.EndWith("is not sent as 'authorization: Bearer <token>'"));
            Assert.That(Delta(before, metrics, "xds_node_identity_refusals_total{group=\"sidecar\",reason=\"token_invalid\"}"), Is.EqualTo(4));
            Assert.That(Delta(before, metrics, "xds_node_identity_refusals_total{group=\"sidecar\",reason=\"token_not_service_account\"}"), Is.EqualTo(1));
            Assert.That(api.RequestCount(ReviewPermission), Is.EqualTo(3), "a token of the wrong shape or size is refused without asking the API server");
        });
    }

    [Test]
    public async Task ApiServerFailingReviews_RefusesWithUnavailable_LoggedOnce_ThenServesWhenItAnswersAgain()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var api = await StartApiAsync();
        await using var host = await StartAsync(api, "Optional", cancel.Token);
        var before = await MetricsAsync(host, cancel.Token);
        var web = api.IssueServiceAccountToken("shop", "web", OurAudience);
        _log.Expect("could not be reviewed: the API server answered the TokenReview with HTTP 503");

        api.TokenReviewsFailWith = 503;
        var first = Refused(host, "Bearer " + web, cancel.Token);
        var second = Refused(host, "Bearer " + web, cancel.Token);
        api.TokenReviewsFailWith = null;
        var served = await FirstClustersAsync(host, web, "sidecar", cancel.Token);
        var metrics = await MetricsAsync(host, cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(StatusCode.Unavailable), "retryable: the API server's fault, not the token's");
            Assert.That(first.Status.Detail, Is.EqualTo("node 'sidecar-1' asked for the sidecar configuration with a ServiceAccount token that could not be reviewed: the API server answered the TokenReview with HTTP 503 Service Unavailable; retry"));
            Assert.That(second.StatusCode, Is.EqualTo(StatusCode.Unavailable), "a failure is not cached as a verdict, and asked again");
            Assert.That(served.Resources, Is.Not.Empty, "served once the API server answers");
            Assert.That(api.RequestCount(ReviewPermission), Is.EqualTo(3));
            Assert.That(_log.Events.Count(e => e.EventId == 7802), Is.EqualTo(1), "one line per interval, however many streams fail");
            Assert.That(_log.Events.Count(e => e.EventId == 7803), Is.EqualTo(1), "the recovery said once");
            Assert.That(_log.Events.Count(e => e.EventId == 1306), Is.Zero, "UNAVAILABLE is not logged per stream");
            Assert.That(Delta(before, metrics, "xds_node_identity_refusals_total{group=\"sidecar\",reason=\"token_review_failed\"}"), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task Required_CertificateAndTokenMustAgree_AndAStreamWithoutEitherIsRefused()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var api = await StartApiAsync();
        await using var host = await StartAsync(api, "Required", cancel.Token, ("Xds:Tls:ClientCertificates", "Optional"), ("Xds:Tls:ClientCaFile", Path.Combine(_tls, "ca.crt")));
        var before = await MetricsAsync(host, cancel.Token);
        using var webCertificate = TestCertificateAuthority.Load(_ca.Client("spiffe://cluster.local/ns/shop/sa/web"));
        var web = api.IssueServiceAccountToken("shop", "web", OurAudience);
        var other = api.IssueServiceAccountToken("shop", "orders", OurAudience);

        var both = await FirstClustersAsync(host, web, "sidecar", cancel.Token, webCertificate);
        var certificateOnly = await FirstClustersAsync(host, null, "sidecar", cancel.Token, webCertificate);
        var tokenOnly = await FirstClustersAsync(host, web, "sidecar", cancel.Token);
        var mismatch = Assert.ThrowsAsync<RpcException>(async () => await FirstClustersAsync(host, other, "sidecar", cancel.Token, webCertificate));
        var neither = Assert.ThrowsAsync<RpcException>(async () => await FirstClustersAsync(host, null, "sidecar", cancel.Token));
        var metrics = await MetricsAsync(host, cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(both.Resources, Is.Not.Empty, "a certificate and a token of the same ServiceAccount");
            Assert.That(certificateOnly.Resources, Is.Not.Empty, "required: a client certificate is an identity too");
            Assert.That(tokenOnly.Resources, Is.Not.Empty);
            Assert.That(mismatch!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(mismatch.Status.Detail, Is.EqualTo("node 'sidecar-1' asked for the sidecar configuration as spiffe://cluster.local/ns/shop/sa/web (client certificate) with a ServiceAccount token of spiffe://cluster.local/ns/shop/sa/orders: the certificate and the token must name the same ServiceAccount"));
            Assert.That(neither!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(neither.Status.Detail, Does.Contain("without an identity: Xds:TokenReview:Mode (--xds-token-review) is Required"));
            Assert.That(Delta(before, metrics, "xds_node_identity_refusals_total{group=\"sidecar\",reason=\"identity_mismatch\"}"), Is.EqualTo(1));
            Assert.That(Delta(before, metrics, "xds_node_identity_refusals_total{group=\"sidecar\",reason=\"no_identity\"}"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task PlaintextListener_WarnsOnStart_AndNoTokenAppearsInTheLogMetricsStatusesOrSnapshot()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var api = await StartApiAsync();
        _log.Expect("ServiceAccount tokens are checked but the listener is plaintext");
        await using var host = await new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url)
            .With("Xds:TokenReview:Mode", "Optional")
            .StartAsync(cancel.Token);
        var web = api.IssueServiceAccountToken("shop", "web", OurAudience);
        var wrongRole = api.IssueServiceAccountToken("shop", "web-gw", OurAudience);
        var user = api.IssueUserToken("alice@example.com", OurAudience);
        var revoked = api.IssueServiceAccountToken("shop", "gone", OurAudience);
        api.Revoke(revoked);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");

        var served = await TlsAdsClient.FirstClustersAsync(channel, "sidecar", cancel.Token, Bearer(web));
        var statuses = new List<string>();
        foreach (var (token, role) in new[] { (wrongRole, "gateway"), (user, "sidecar"), (revoked, "sidecar") })
        {
            var refused = Assert.ThrowsAsync<RpcException>(async () => await TlsAdsClient.FirstClustersAsync(channel, role, cancel.Token, Bearer(token)));
            statuses.Add(refused!.Status.Detail);
        }

        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };
        var written = new Dictionary<string, string>
        {
            ["/metrics"] = await admin.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancel.Token),
            ["/debug/snapshot"] = await admin.GetStringAsync(new Uri("/debug/snapshot", UriKind.Relative), cancel.Token),
            ["statuses"] = string.Join("\n", statuses),
            ["API server objects, status patches and Events"] = api.DumpExcept(FakeApiServer.Secrets),
        };
        await host.StopAsync(cancel.Token);
        written["log (JSON)"] = _log.Render(new CompactJsonFormatter());
        written["log (text)"] = string.Join("\n", _log.Events.Select(e => e.Text));

        Assert.Multiple(() =>
        {
            Assert.That(served.Resources, Is.Not.Empty);
            Assert.That(_log.Events.Count(e => e.EventId == 7801), Is.EqualTo(1), "a bearer token over plaintext is warned about on start");
            Assert.That(statuses, Has.Count.EqualTo(3));
            foreach (var (place, text) in written)
            {
                foreach (var token in new[] { web, wrongRole, user, revoked })
                {
                    // The signature is random; the header is the same for every token, the payload readable claims.
                    Assert.That(text, Does.Not.Contain(token.Split('.')[2]), $"a token's signature in {place}");
                    Assert.That(text, Does.Not.Contain(token.Split('.')[1]), $"a token's payload in {place}");
                }
            }
        });
    }

    private static async Task<FakeApiServer> StartApiAsync()
    {
        var api = await FakeApiServer.StartAsync();
        api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        return api;
    }

    private async Task<Server.ServerHost> StartAsync(FakeApiServer api, string mode, CancellationToken cancellationToken, params (string Key, object Value)[] settings)
    {
        var server = new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url)
            .With("Xds:Tls:CertFile", Path.Combine(_tls, "tls.crt"))
            .With("Xds:Tls:KeyFile", Path.Combine(_tls, "tls.key"))
            .With("Xds:TokenReview:Mode", mode);
        foreach (var (key, value) in settings)
        {
            server = server.With(key, value);
        }

        return await server.StartAsync(cancellationToken);
    }

    private static Metadata Bearer(string token) => new() { { "authorization", "Bearer " + token } };

    private async Task<global::Envoy.Service.Discovery.V3.DiscoveryResponse> FirstClustersAsync(Server.ServerHost host, string? token, string role, CancellationToken cancellationToken, X509Certificate2? certificate = null)
    {
        using var channel = TlsAdsClient.Channel(host.XdsPort, _ca, certificate);
        return await TlsAdsClient.FirstClustersAsync(channel, role, cancellationToken, token is null ? null : Bearer(token));
    }

    private RpcException Refused(Server.ServerHost host, string authorization, CancellationToken cancellationToken)
    {
        using var channel = TlsAdsClient.Channel(host.XdsPort, _ca, null);
        return Assert.ThrowsAsync<RpcException>(async () => await TlsAdsClient.FirstClustersAsync(channel, "sidecar", cancellationToken, new Metadata { { "authorization", authorization } }))!;
    }

    /// <summary>The metrics page (counters are process-wide: tests compare two pages with <see cref="Delta"/>).</summary>
    private static async Task<string> MetricsAsync(Server.ServerHost host, CancellationToken cancellationToken)
    {
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };
        return await admin.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancellationToken);
    }

    /// <summary>How much the series <paramref name="series"/> (name and labels, as the page spells them) grew from <paramref name="before"/> to <paramref name="after"/>.</summary>
    private static double Delta(string before, string after, string series) => Value(after, series) - Value(before, series);

    private static double Value(string page, string series) =>
        page.Split('\n').FirstOrDefault(line => line.StartsWith(series + " ", StringComparison.Ordinal)) is { } line
            ? double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)
            : 0;
}
