using System.Net;
using System.Text.Json.Nodes;
using XdsControlPlane.Server.Webhook;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The mutating admission webhook over real HTTPS on loopback, with AdmissionReview v1 bodies as the API server sends
/// them (Fixtures/admission, see its README): the Sandbox owner annotations, a malformed or hostile request, a resource
/// no reviewer handles, on one server (<see cref="AdmissionWebhookHostTests"/> has the tests that need a server of their own).
/// </summary>
public sealed class AdmissionWebhookTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly HostLog _log = new();

    private ServerHost _host = null!;
    private WebhookClient _client = null!;

    /// <summary>One server for the tests that only send requests (each test reads its own log events).</summary>
    [OneTimeSetUp]
    public async Task StartSharedHost()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        (_host, _client) = await StartAsync(cancel.Token);
    }

    [OneTimeTearDown]
    public async Task StopSharedHost()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    [SetUp]
    public void ForgetLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    internal static string Fixture(string name) => File.ReadAllText(RepoDirectory.Path("tests", "XdsControlPlane.Server.Tests", "Fixtures", "admission", name));

    private async Task<(ServerHost Host, WebhookClient Client)> StartAsync(CancellationToken cancellationToken)
    {
        var host = await new InProcessServer().WithLog(_log).With("Webhook:Port", FreePort.Next()).With("PreviewAccess:AdminGroups:0", "preview-admins").StartAsync(cancellationToken);
        return (host, new WebhookClient(host.WebhookPort, await WebhookClient.CaAsync(host.AdminPort, cancellationToken)));
    }

    [Test]
    public async Task Create_PreviewGrantWhoseManifestClaimsACreator_RecordsTheAuthenticatedUserAndTheirAdminGroups()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var response = await _client.ReviewAsync(Fixture("previewgrant-create.json"), cancel.Token);

        Assert.That((bool?)response["allowed"], Is.True);
        Assert.That(WebhookClient.Patch(response)!.ToJsonString(), Is.EqualTo(new JsonArray(
            new JsonObject { ["op"] = "add", ["path"] = "/metadata/annotations/sandboxctl.io~1created-by", ["value"] = "alice@example.com" },
            new JsonObject { ["op"] = "add", ["path"] = "/metadata/annotations/sandboxctl.io~1created-by-uid", ["value"] = "014fbff9a07c" },
            new JsonObject { ["op"] = "add", ["path"] = "/metadata/annotations/sandboxctl.io~1created-by-groups", ["value"] = "preview-admins" }).ToJsonString()));
    }

    [Test]
    public async Task Create_SandboxWhoseManifestClaimsAnOwner_RecordsTheAuthenticatedUser()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var response = await _client.ReviewAsync(Fixture("sandbox-create.json"), cancel.Token);

        Assert.That((string?)response["uid"], Is.EqualTo("4b0f1a52-7c3e-4d8e-9a51-2f6c0d7e8a10"));
        Assert.That((bool?)response["allowed"], Is.True);
        Assert.That(response["status"], Is.Null, "status is read only on refusal");
        Assert.That(WebhookClient.Patch(response)!.ToJsonString(), Is.EqualTo(new JsonArray(
            new JsonObject { ["op"] = "add", ["path"] = "/metadata/annotations/sandboxctl.io~1created-by", ["value"] = "alice@example.com" },
            new JsonObject { ["op"] = "add", ["path"] = "/metadata/annotations/sandboxctl.io~1created-by-uid", ["value"] = "014fbff9a07c" }).ToJsonString()));
    }

    [Test]
    public async Task Update_ClientRewritesTheOwner_StoredOwnerIsRestored()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var response = await _client.ReviewAsync(Fixture("sandbox-update.json"), cancel.Token);

        Assert.That((bool?)response["allowed"], Is.True);
        Assert.That(WebhookClient.Patch(response)!.ToJsonString(), Is.EqualTo(new JsonArray(
            new JsonObject { ["op"] = "add", ["path"] = "/metadata/annotations/sandboxctl.io~1created-by", ["value"] = "alice@example.com" },
            new JsonObject { ["op"] = "add", ["path"] = "/metadata/annotations/sandboxctl.io~1created-by-uid", ["value"] = "014fbff9a07c" }).ToJsonString()));
    }

    [Test]
    public async Task Update_OwnerUnchanged_AdmittedWithoutPatch()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var review = JsonNode.Parse(Fixture("sandbox-update.json"))!;
        review["request"]!["object"]!["metadata"]!["annotations"] = review["request"]!["oldObject"]!["metadata"]!["annotations"]!.DeepClone();

        var response = await _client.ReviewAsync(review.ToJsonString(), cancel.Token);

        Assert.That(((bool?)response["allowed"], response["patch"], response["patchType"]), Is.EqualTo((true, (JsonNode?)null, (JsonNode?)null)));
    }

    [Test]
    public async Task Create_DryRun_GetsTheSamePatch()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var review = JsonNode.Parse(Fixture("sandbox-create.json"))!;
        review["request"]!["dryRun"] = true;

        var dryRun = await _client.ReviewAsync(review.ToJsonString(), cancel.Token);
        var real = await _client.ReviewAsync(Fixture("sandbox-create.json"), cancel.Token);

        Assert.That(WebhookClient.Patch(dryRun)!.ToJsonString(), Is.EqualTo(WebhookClient.Patch(real)!.ToJsonString()));
    }

    [TestCase("apiVersion", "admission.k8s.io/v1beta1", "apiVersion:")]
    [TestCase("kind", "ConversionReview", "kind:")]
    [TestCase("request", null, "request:")]
    [TestCase("request.uid", null, "request.uid:")]
    [TestCase("request.uid", "", "request.uid:")]
    [TestCase("request.resource", null, "request.resource:")]
    [TestCase("request.resource.resource", null, "request.resource.resource:")]
    [TestCase("request.operation", "PATCH", "request.operation:")]
    [TestCase("request.object", null, "request.object:")]
    [TestCase("request.oldObject", null, "request.oldObject:")]
    [TestCase("request.userInfo", "alice", "request.userInfo:")]
    public async Task Review_MalformedEnvelope_Is400NamingTheField(string field, string? value, string problem)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var review = JsonNode.Parse(Fixture("sandbox-update.json"))!.AsObject();
        var path = field.Split('.');
        var parent = path[..^1].Aggregate(review, (node, name) => node[name]!.AsObject());
        if (value is null)
        {
            parent.Remove(path[^1]);
        }
        else
        {
            parent[path[^1]] = value;
        }

        using var response = await _client.PostAsync(review.ToJsonString(), cancel.Token);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(cancel.Token), Does.StartWith(problem));
    }

    [TestCase("not json", "body:")]
    [TestCase("[1, 2]", "body:")]
    [TestCase("", "body:")]
    public async Task Review_NotAnAdmissionReview_Is400(string body, string problem)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        using var response = await _client.PostAsync(body, cancel.Token);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(cancel.Token), Does.StartWith(problem));
    }

    [Test]
    public async Task Review_NestedDeeperThanTheLimit_Is400AndLaterRequestsAreServed()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var review = JsonNode.Parse(Fixture("sandbox-create.json"))!;
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200);
        var body = review.ToJsonString().Replace("\"spec\":{", "\"spec\":{\"deep\":" + deep + ",", StringComparison.Ordinal);

        using var response = await _client.PostAsync(body, cancel.Token);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await response.Content.ReadAsStringAsync(cancel.Token), Does.StartWith("body:").And.Contain("64"));
        Assert.That((bool?)(await _client.ReviewAsync(Fixture("sandbox-create.json"), cancel.Token))["allowed"], Is.True);
    }

    [Test]
    public async Task Review_BodyOverFourMebibytes_Is413()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var review = JsonNode.Parse(Fixture("sandbox-create.json"))!;
        review["request"]!["object"]!["spec"]!["padding"] = new string('x', WebhookListenerOptions.MaxRequestBytes);

        using var response = await _client.PostAsync(review.ToJsonString(), cancel.Token);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(await response.Content.ReadAsStringAsync(cancel.Token), Does.StartWith("body: larger than 4194304 bytes"));
    }

    [Test]
    public async Task Review_WrongMethodOrContentType_Is405Or415()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        using var get = await _client.SendAsync(HttpMethod.Get, cancel.Token);
        using var yaml = await _client.PostAsync(Fixture("sandbox-create.json"), cancel.Token, "application/yaml");

        Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        Assert.That(get.Content.Headers.Allow, Is.EqualTo(new[] { "POST" }));
        Assert.That(yaml.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That(await yaml.Content.ReadAsStringAsync(cancel.Token), Does.StartWith("Content-Type:"));
    }

    [Test]
    public async Task Review_ResourceNoReviewerHandles_IsAdmittedUnchangedWithAWarning()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        _log.Expect("has no reviewer for them");

        // The captured Pod request, sent for a resource nothing here reviews (the pod reviewer is the sidecar injector's).
        var review = JsonNode.Parse(Fixture("pod-create-kube-rs.json"))!;
        review["request"]!["resource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = "configmaps" };
        var first = await _client.ReviewAsync(review.ToJsonString(), cancel.Token);
        await _client.ReviewAsync(review.ToJsonString(), cancel.Token);

        Assert.That(((bool?)first["allowed"], first["patch"]), Is.EqualTo((true, (JsonNode?)null)));
        Assert.That(first["warnings"]!.AsArray().Select(w => (string?)w), Is.EqualTo(new[] { "the xds-control-plane admission webhook does not review configmaps; admitted unchanged" }));
        Assert.That(_log.Events.Count(e => e.EventId == 7202), Is.EqualTo(1), () => "logged once per resource: " + string.Join("\n", _log.Events));
    }
}
