using System.Text;
using System.Text.Json.Nodes;
using Envoy.Service.Auth.V3;
using Grpc.Net.Client;
using XdsControlPlane.Model;
using XdsControlPlane.Server.Previews;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// The preview authorization service over real gRPC on the xDS port (the generated Envoy Authorization client), in
/// Kubernetes mode: Sandboxes and PreviewGrants reach the server through the official client's informers from the fake
/// API server, the session key from its Secret; the admission webhook is on, so the creator annotations count (the
/// grants here carry them as the webhook stamps them). Requests are shaped as Envoy sends them
/// (<see cref="PreviewCheckRequests"/>). Each decision is a test case.
/// </summary>
public sealed class PreviewAuthorizationTests
{
    private const string SessionKey = "0123456789abcdef0123456789abcdef";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static readonly PreviewUnderTest Public = new(Sandbox.KindName, "shop", "feature-x", "cart", 8080, Preview.Public);
    private static readonly PreviewUnderTest Shared = new(Sandbox.KindName, "shop", "feature-x", "cart", 8080, Preview.Shared);
    private static readonly PreviewUnderTest Personal = new(Sandbox.KindName, "shop", "feature-x", "web", 80, Preview.Personal);
    private static readonly PreviewUnderTest LaptopPersonal = new(LocalWorkload.KindName, "shop", "cart-dev", "cart", 8080, Preview.Personal);

    private readonly HostLog _log = new();
    private readonly Dictionary<string, string> _tokens = [];
    private FakeApiServer _api = null!;
    private Server.ServerHost _host = null!;
    private GrpcChannel _channel = null!;
    private Authorization.AuthorizationClient _client = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _api = await FakeApiServer.StartAsync();
        _api.Put(FakeApiServer.Secrets, FakeApiServer.SecretObject("sandboxctl-system", PreviewAccessOptions.DefaultSessionKeySecret, new Dictionary<string, string> { [SecretPreviewSessionKeySource.DataKey] = SessionKey }));
        _api.Put(FakeApiServer.Sandboxes, SandboxObject("feature-x", "alice@example.com", "u-alice"));
        Grant("owner", "shop", "alice@example.com", "u-alice");
        Grant("colleague", "shop", "bob@example.com", "u-bob");
        Grant("admin", "shop", "carol@example.com", "u-carol", groups: "preview-admins");
        Grant("unrecorded", "shop", creator: null, uid: null);
        Grant("expired", "shop", "alice@example.com", "u-alice", expiresAt: DateTimeOffset.UtcNow.AddHours(-1));
        Grant("other-namespace", "billing", "alice@example.com", "u-alice");
        Grant("narrowed", "shop", "alice@example.com", "u-alice", preview: ("web", 80));

        // A laptop of alice's: sandboxctl local connect created the LocalWorkload with her credentials, so the webhook recorded her.
        _api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        _api.Put(FakeApiServer.LocalWorkloads, LocalWorkloadObject("cart-dev", "alice@example.com", "u-alice"));
        Grant("laptop-owner", "shop", "alice@example.com", "u-alice", localWorkload: "cart-dev");
        Grant("laptop-colleague", "shop", "bob@example.com", "u-bob", localWorkload: "cart-dev");
        _host = await new InProcessServer()
            .WithLog(_log)
            .WithKubernetesApi(_api.Url)
            .With("Webhook:Port", FreePort.Next())
            .With("PreviewAccess:AdminGroups:0", "preview-admins")
            .With("Translation:PreviewDomain", "preview.example.com")
            .StartAsync(new CancellationTokenSource(Timeout).Token);
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{_host.XdsPort}");
        _client = new Authorization.AuthorizationClient(_channel);

        // Every grant, the Sandbox and the session key read: the owner's token opens the personal preview, and its first visit is redirected.
        await Eventually.WaitAsync(async () => await StatusAsync(Personal, Bearer("owner")) == 200 && await StatusAsync(Shared, Bearer("narrowed")) == 403
            && await StatusAsync(Shared, path: "/?token=" + _tokens["owner"]) == 302, () => "the grants, the Sandbox and the session key to be read");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
        await _api.DisposeAsync();
    }

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    [TestCase("public", null, 200, "")]
    [TestCase("shared", null, 401, "no-credentials")]
    [TestCase("personal", null, 401, "no-credentials")]
    [TestCase("public", "garbage", 200, "")]
    [TestCase("shared", "malformed", 401, "malformed-token")]
    [TestCase("personal", "malformed", 401, "malformed-token")]
    [TestCase("shared", "never-minted", 401, "unknown-token")]
    [TestCase("shared", "other-namespace", 403, "other-namespace")]
    [TestCase("personal", "other-namespace", 403, "other-namespace")]
    [TestCase("shared", "expired", 401, "expired")]
    [TestCase("personal", "expired", 401, "expired")]
    [TestCase("shared", "owner", 200, "")]
    [TestCase("personal", "owner", 200, "")]
    [TestCase("shared", "colleague", 200, "")]
    [TestCase("personal", "colleague", 403, "not-owner")]
    [TestCase("personal", "admin", 200, "")]
    [TestCase("personal", "unrecorded", 403, "no-recorded-creator")]
    [TestCase("personal", "narrowed", 200, "")]
    [TestCase("shared", "narrowed", 403, "not-covered")]
    public async Task Check_BearerToken_Decides(string access, string? credential, int status, string reason)
    {
        var preview = access switch { "public" => Public, "shared" => Shared, _ => Personal };
        (string, string)[] headers = credential switch
        {
            null => [],
            "malformed" => [("authorization", "Bearer sbxp_tooShort")],
            "garbage" => [("authorization", "Bearer sbxp_" + new string('!', 43))],
            "never-minted" => [("authorization", "Bearer " + PreviewToken.Create())],
            _ => [Bearer(credential)],
        };

        var response = await CheckAsync(PreviewCheckRequests.For(preview, headers: headers));

        Assert.That(PreviewCheckRequests.StatusOf(response), Is.EqualTo(status));
        Assert.That(response.Status.Message, Is.EqualTo(reason));
        if (status != 200)
        {
            Assert.That(PreviewCheckRequests.Header(response, "cache-control"), Is.EqualTo("no-store"));
            Assert.That(response.DeniedResponse.Body, Does.Contain(reason == "no-credentials" ? "sandboxctl preview open feature-x -n shop" : reason));
        }
        else if (credential is not null && access != "public")
        {
            Assert.That(response.OkResponse.HeadersToRemove, Is.EqualTo(new[] { "authorization" }), "the preview token does not go upstream");
        }
    }

    [Test]
    public async Task Check_ApplicationsOwnBearerToken_IsLeftAloneAndNeedsAPreviewCredential()
    {
        // The captured request's JWT is the application's: neither a preview token nor malformed.
        var request = PreviewCheckRequests.Captured;
        var shaped = PreviewCheckRequests.For(Shared);
        request.Attributes.ContextExtensions.Add(shaped.Attributes.ContextExtensions);

        var response = await CheckAsync(request);

        Assert.That((PreviewCheckRequests.StatusOf(response), response.Status.Message), Is.EqualTo((401, "no-credentials")));
    }

    [Test]
    public async Task Check_WithoutPreviewContext_IsRefused()
    {
        var response = await CheckAsync(PreviewCheckRequests.Captured);

        Assert.That((PreviewCheckRequests.StatusOf(response), response.Status.Message), Is.EqualTo((403, "not-a-preview")));
    }

    [Test]
    public async Task Check_ClientPrefersJson_DenialIsJson()
    {
        var response = await CheckAsync(PreviewCheckRequests.For(Shared, headers: [("accept", "application/json")]));
        var body = JsonNode.Parse(response.DeniedResponse.Body)!;

        Assert.That((string?)body["reason"], Is.EqualTo("no-credentials"));
        Assert.That((string?)body["message"], Does.Contain("sandboxctl preview open feature-x -n shop"));
        Assert.That(PreviewCheckRequests.Header(response, "content-type"), Is.EqualTo("application/json"));
        Assert.That(PreviewCheckRequests.Header(response, "www-authenticate"), Does.StartWith("Bearer"));
    }

    [Test]
    public async Task Check_ForbiddenBrowserPage_IsHtmlSayingWhy()
    {
        var response = await CheckAsync(PreviewCheckRequests.For(Personal, headers: [Bearer("colleague")]));

        Assert.That(PreviewCheckRequests.Header(response, "content-type"), Is.EqualTo("text/html; charset=utf-8"));
        Assert.That(response.DeniedResponse.Body, Does.Contain("only its owner, or a member of a preview admin group"));
    }

    [Test]
    public async Task Check_FirstVisitWithToken_RedirectsWithoutItAndSetsAHostOnlySessionCookie()
    {
        var response = await CheckAsync(PreviewCheckRequests.For(Shared, path: "/people?lang=en&token=" + _tokens["colleague"] + "&page=2"));
        var cookie = PreviewCheckRequests.Header(response, "set-cookie")!;

        Assert.That(PreviewCheckRequests.StatusOf(response), Is.EqualTo(302));
        Assert.That(PreviewCheckRequests.Header(response, "location"), Is.EqualTo("/people?lang=en&page=2"));
        Assert.That(PreviewCheckRequests.Header(response, "cache-control"), Is.EqualTo("no-store"));
        Assert.That(cookie, Does.StartWith(PreviewCheck.CookieName + "="));
        Assert.That(cookie.Split("; ").Skip(1), Is.SupersetOf(new[] { "Path=/", "Secure", "HttpOnly", "SameSite=Lax" }));
        Assert.That(cookie, Does.Not.Contain("Domain="), "host-only");
        Assert.That(cookie, Does.Not.Contain(_tokens["colleague"]));
        var maxAge = int.Parse(cookie.Split("; ").Single(a => a.StartsWith("Max-Age=", StringComparison.Ordinal))["Max-Age=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(maxAge, Is.InRange(11 * 3600, 12 * 3600), "the session max age (12h) is shorter than the grant's 24h");

        // The browser's next request carries the cookie, and it opens the preview.
        var value = cookie.Split("; ")[0][(PreviewCheck.CookieName.Length + 1)..];
        var next = await CheckAsync(PreviewCheckRequests.For(Shared, path: "/people?lang=en&page=2", headers: [("cookie", "theme=dark; " + PreviewCheck.CookieName + "=" + value)]));
        Assert.That((PreviewCheckRequests.StatusOf(next), next.Status.Message), Is.EqualTo((200, "")));
    }

    [Test]
    public async Task Check_FirstVisitWithAnotherNamespacesToken_IsRefusedWithoutCookie()
    {
        var response = await CheckAsync(PreviewCheckRequests.For(Shared, path: "/?token=" + _tokens["other-namespace"]));

        Assert.That((PreviewCheckRequests.StatusOf(response), response.Status.Message), Is.EqualTo((403, "other-namespace")));
        Assert.That(PreviewCheckRequests.Header(response, "set-cookie"), Is.Null);
    }

    [TestCase("valid", 200, "")]
    [TestCase("tampered", 401, "session-invalid")]
    [TestCase("other-key", 401, "session-invalid")]
    [TestCase("other-host", 401, "session-other-host")]
    [TestCase("expired", 401, "session-expired")]
    [TestCase("garbage", 401, "session-invalid")]
    public async Task Check_SessionCookie_Decides(string kind, int status, string reason)
    {
        var key = Encoding.UTF8.GetBytes(SessionKey);
        var session = new PreviewSession("shop", "colleague", Shared.Host, DateTimeOffset.UtcNow.AddHours(1));
        var value = kind switch
        {
            "valid" => PreviewSessions.Sign(session, key),
            "tampered" => Tamper(PreviewSessions.Sign(session, key)),
            "other-key" => PreviewSessions.Sign(session, Encoding.UTF8.GetBytes("another key of thirty-two bytes!")),
            "other-host" => PreviewSessions.Sign(session with { Host = Public.Host.Replace("cart", "shop", StringComparison.Ordinal) }, key),
            "expired" => PreviewSessions.Sign(session with { Expires = DateTimeOffset.UtcNow.AddMinutes(-1) }, key),
            _ => "%%%.not-base64",
        };

        var response = await CheckAsync(PreviewCheckRequests.For(Shared, headers: [("cookie", PreviewCheck.CookieName + "=" + value)]));

        Assert.That((PreviewCheckRequests.StatusOf(response), response.Status.Message), Is.EqualTo((status, reason)));
    }

    [TestCase("shared")]
    [TestCase("personal")]
    public async Task Check_CorsPreflight_PassesWithoutToken(string access)
    {
        var preview = access == "shared" ? Shared : Personal;
        var preflight = await CheckAsync(PreviewCheckRequests.For(preview, "OPTIONS", "/api/cart", ("origin", "https://app.example.com"), ("access-control-request-method", "POST")));
        var bareOptions = await CheckAsync(PreviewCheckRequests.For(preview, "OPTIONS", "/api/cart"));

        Assert.That((PreviewCheckRequests.StatusOf(preflight), PreviewCheckRequests.StatusOf(bareOptions)), Is.EqualTo((200, 401)));
    }

    [Test]
    public async Task Check_HostileInput_RefusedBeforeAnyLookup()
    {
        var longPath = await CheckAsync(PreviewCheckRequests.For(Shared, path: "/" + new string('a', PreviewCheck.MaxPathLength)));
        var twoTokens = await CheckAsync(PreviewCheckRequests.For(Shared, path: $"/?token={_tokens["owner"]}&token={_tokens["owner"]}"));
        var hugeCookie = await CheckAsync(PreviewCheckRequests.For(Shared, headers: [("cookie", PreviewCheck.CookieName + "=" + new string('x', 2000))]));

        Assert.That(
            new[] { (PreviewCheckRequests.StatusOf(longPath), longPath.Status.Message), (PreviewCheckRequests.StatusOf(twoTokens), twoTokens.Status.Message), (PreviewCheckRequests.StatusOf(hugeCookie), hugeCookie.Status.Message) },
            Is.EqualTo(new[] { (401, "oversized"), (401, "malformed-token"), (401, "session-invalid") }));
    }

    [Test]
    public async Task Check_GrantDeleted_RevokesItsTokenAndItsSessions()
    {
        Grant("revocable", "shop", "bob@example.com", "u-bob");
        await Eventually.WaitAsync(async () => await StatusAsync(Shared, Bearer("revocable")) == 200, "the new grant to be read");
        var redirect = await CheckAsync(PreviewCheckRequests.For(Shared, path: "/?token=" + _tokens["revocable"]));
        var cookie = PreviewCheckRequests.Header(redirect, "set-cookie")!.Split("; ")[0];

        _api.Delete(FakeApiServer.PreviewGrants, "shop", "revocable");
        await Eventually.WaitAsync(async () => await StatusAsync(Shared, Bearer("revocable")) == 401, "the deletion to be read");
        var byCookie = await CheckAsync(PreviewCheckRequests.For(Shared, headers: [("cookie", cookie)]));
        var byToken = await CheckAsync(PreviewCheckRequests.For(Shared, headers: [Bearer("revocable")]));

        Assert.That((byCookie.Status.Message, byToken.Status.Message), Is.EqualTo(("revoked", "unknown-token")));
    }

    [Test]
    public async Task Check_EachDecision_LoggedAndCountedWithoutTheCredential()
    {
        _log.Clear();
        var redirect = await CheckAsync(PreviewCheckRequests.For(Shared, path: "/?token=" + _tokens["admin"]));
        var cookie = PreviewCheckRequests.Header(redirect, "set-cookie")!.Split("; ")[0];
        await CheckAsync(PreviewCheckRequests.For(Personal, headers: [Bearer("admin")]));
        await CheckAsync(PreviewCheckRequests.For(Shared, headers: [("cookie", cookie)]));
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_host.AdminPort}") };
        var metrics = await admin.GetStringAsync(new Uri("/metrics", UriKind.Relative));

        var lines = _log.Events.Where(e => e.EventId == 7340).Select(e => e.Text).ToArray();
        Assert.That(lines, Has.Some.EqualTo($"Preview \"{Personal.Host}\" \"GET\": \"allow\" (\"token\"); subject \"shop/admin\" created by \"carol@example.com\"; from \"172.17.0.1:61402\""));
        Assert.That(lines, Has.Some.StartsWith($"Preview \"{Shared.Host}\" \"GET\": \"redirect\" (\"first-visit\"); subject \"shop/admin\""));
        Assert.That(lines, Has.Some.StartsWith($"Preview \"{Shared.Host}\" \"GET\": \"allow\" (\"session\"); subject \"shop/admin\""));
        Assert.That(_log.Events.Select(e => e.Text), Has.None.Contains(_tokens["admin"]).And.None.Contains(cookie[(PreviewCheck.CookieName.Length + 1)..]));
        Assert.That(metrics, Does.Contain("sandboxctl_preview_decisions_total{decision=\"redirect\",reason=\"first-visit\",access=\"shared\"}"));
        Assert.That(metrics, Does.Contain("sandboxctl_preview_decisions_total{decision=\"allow\",reason=\"token\",access=\"personal\"}"));
    }

    private static string Tamper(string value)
    {
        // Another grant's name in the payload, the signature kept.
        var dot = value.IndexOf('.', StringComparison.Ordinal);
        var payload = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(value.AsSpan(0, dot))).Replace("colleague", "owner", StringComparison.Ordinal);
        return System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload)) + value[dot..];
    }

    private (string, string) Bearer(string grant) => ("authorization", "Bearer " + _tokens[grant]);

    [TestCase("laptop-owner", 200, "")]
    [TestCase("laptop-colleague", 403, "not-owner")]
    [TestCase("owner", 403, "not-covered")]
    public async Task Check_PersonalPreviewOfALaptop_OpensToItsCreatorsGrants(string credential, int status, string reason)
    {
        // The LocalWorkload is read by its own informer: wait until the owner's grant opens it.
        await Eventually.WaitAsync(async () => await StatusAsync(LaptopPersonal, Bearer("laptop-owner")) == 200, "the LocalWorkload and its grants to be read");

        var response = await CheckAsync(PreviewCheckRequests.For(LaptopPersonal, headers: [Bearer(credential)]));

        Assert.That((PreviewCheckRequests.StatusOf(response), response.Status.Message), Is.EqualTo((status, reason)));
    }

    private async Task<CheckResponse> CheckAsync(CheckRequest request)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        return await _client.CheckAsync(request, cancellationToken: cancel.Token);
    }

    private async Task<int> StatusAsync(PreviewUnderTest preview, (string, string)? header = null, string path = "/") =>
        PreviewCheckRequests.StatusOf(await CheckAsync(PreviewCheckRequests.For(preview, path: path, headers: header is { } h ? [h] : [])));

    private void Grant(string name, string ns, string? creator, string? uid, string? groups = null, DateTimeOffset? expiresAt = null, (string Service, int Port)? preview = null, string? localWorkload = null)
    {
        var token = PreviewToken.Create();
        _tokens[name] = token;
        var annotations = new JsonObject();
        if (creator is not null)
        {
            annotations["sandboxctl.io/created-by"] = creator;
            annotations["sandboxctl.io/created-by-uid"] = uid;
        }

        if (groups is not null)
        {
            annotations["sandboxctl.io/created-by-groups"] = groups;
        }

        var spec = new JsonObject
        {
            [localWorkload is null ? "sandbox" : "localWorkload"] = localWorkload ?? "feature-x",
            ["secretHash"] = PreviewToken.Hash(token),
            ["expiresAt"] = PreviewGrant.FormatTimestamp(expiresAt ?? DateTimeOffset.UtcNow.AddHours(24)),
        };
        if (preview is { } p)
        {
            spec["preview"] = new JsonObject { ["service"] = p.Service, ["port"] = p.Port };
        }

        _api.Put(FakeApiServer.PreviewGrants, new JsonObject
        {
            ["apiVersion"] = ApiVersions.Sandboxctl,
            ["kind"] = PreviewGrant.KindName,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["annotations"] = annotations },
            ["spec"] = spec,
        });
    }

    private static JsonObject SandboxObject(string name, string creator, string uid) => new()
    {
        ["apiVersion"] = ApiVersions.Sandboxctl,
        ["kind"] = Sandbox.KindName,
        ["metadata"] = CreatedBy(name, creator, uid),
        ["spec"] = new JsonObject { ["ttl"] = "72h" },
    };

    private static JsonObject LocalWorkloadObject(string name, string creator, string uid) => new()
    {
        ["apiVersion"] = ApiVersions.Sandboxctl,
        ["kind"] = LocalWorkload.KindName,
        ["metadata"] = CreatedBy(name, creator, uid),
        ["spec"] = new JsonObject
        {
            ["routingKey"] = "feature-y",
            ["service"] = "cart",
            ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080, ["protocol"] = "http" }),
            ["previews"] = new JsonArray(new JsonObject { ["port"] = 8080, ["access"] = "personal" }),
        },
    };

    /// <summary>The metadata of an object in shop whose creator the webhook recorded.</summary>
    private static JsonObject CreatedBy(string name, string creator, string uid) => new()
    {
        ["name"] = name,
        ["namespace"] = "shop",
        ["annotations"] = new JsonObject { ["sandboxctl.io/created-by"] = creator, ["sandboxctl.io/created-by-uid"] = uid },
    };
}
