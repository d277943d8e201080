using System.Collections;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sandboxctl.Previews;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>
/// <c>sandboxctl preview</c> through the official KubernetesClient against the fake API server over HTTP (the tests
/// write the owners' <c>status.previews</c> as the control plane would, and the creator annotation as the admission
/// webhook would), and in manifests mode against a real directory.
/// </summary>
public sealed class PreviewCommandTests
{
    private const string CartUrl = "https://cart-8080-abcdefghij.preview.example.com/";
    private const string WebUrl = "https://web-80-klmnopqrst.preview.example.com/";

    private FakeApiServer _api = null!;
    private CliHarness _cli = null!;

    /// <summary>A fake API server, and sandboxctl with a kubeconfig for it (context namespace <c>shop</c>, user <c>dev</c>).</summary>
    [SetUp]
    public async Task StartAsync()
    {
        _api = await FakeApiServer.StartAsync();
        _cli = new CliHarness();
        _cli.DefaultKubeconfig = _cli.Kubeconfig(_api.Url);
    }

    [TearDown]
    public async Task StopAsync()
    {
        _cli.Dispose();
        await _api.DisposeAsync();
    }

    [Test]
    public async Task Open_Json_CreatesAGrantWhoseHashMatchesThePrintedTokenAndWhoseExpiryIsTheTtl()
    {
        PutSandbox("feature-x", Declared(("cart", 8080, "shared")), Reported(("cart", 8080, "shared", CartUrl)));
        var before = DateTimeOffset.UtcNow;

        var (code, stdout, stderr) = await _cli.RunAsync("preview", "open", "feature-x", "--ttl", "3h", "-o", "json");

        var after = DateTimeOffset.UtcNow;
        var printed = JsonNode.Parse(stdout)!;
        var name = (string)printed["grant"]!;
        var token = (string)printed["token"]!;
        var stored = _api.Get(FakeApiServer.PreviewGrants, "shop", name)!;
        var expiry = PreviewGrant.ParseTimestamp((string?)stored["spec"]!["expiresAt"])!.Value;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(name, Does.StartWith("preview-"), "generateName: preview-");
            Assert.That(PreviewToken.IsWellFormed(token), Is.True);
            Assert.That((string?)stored["spec"]!["secretHash"], Is.EqualTo(PreviewToken.Hash(token)));
            Assert.That((string?)stored["spec"]!["sandbox"], Is.EqualTo("feature-x"));
            Assert.That(stored["spec"]!["preview"], Is.Null, "open grants every preview of the owner");
            Assert.That(expiry, Is.InRange(before.AddHours(3).AddSeconds(-1), after.AddHours(3)));
            Assert.That((string?)printed["expiresAt"], Is.EqualTo((string?)stored["spec"]!["expiresAt"]));
            Assert.That((string?)printed["link"], Is.EqualTo(CartUrl + "?token=" + token));
            Assert.That((string?)printed["scope"], Is.EqualTo("owner"));
            Assert.That(printed["preview"]!.ToJsonString(), Is.EqualTo($$"""{"owner":{"kind":"Sandbox","name":"feature-x"},"service":"cart","port":8080,"access":"shared","url":"{{CartUrl}}"}"""));
            Assert.That(stored.ToJsonString(), Does.Not.Contain(token), "only the hash is stored");
            Assert.That(_api.Permissions(), Does.Contain("sandboxctl.io/previewgrants:create"));
        });
    }

    [Test]
    public async Task Open_Table_PrintsTheLinkOnItsOwnLineAndOpensNoBrowserWithoutATerminal()
    {
        PutSandbox("feature-x", Declared(("cart", 8080, "shared"), ("web", 80, "personal")), Reported(("cart", 8080, "shared", CartUrl), ("web", 80, "personal", WebUrl)));

        var (code, stdout, stderr) = await _cli.RunAsync("preview", "open", "feature-x", "--service", "web", "--no-color");

        var grant = _api.List(FakeApiServer.PreviewGrants, "shop").Single();
        var link = stdout.Split('\n').Single(l => l.StartsWith("  https://", StringComparison.Ordinal)).Trim();
        var token = link[(link.IndexOf("?token=", StringComparison.Ordinal) + 7)..];
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(link, Does.StartWith(WebUrl + "?token=sbxp_"));
            Assert.That((string?)grant["spec"]!["secretHash"], Is.EqualTo(PreviewToken.Hash(token)));
            Assert.That(stdout, Does.Contain($"previewgrant.sandboxctl.io/{(string)grant["metadata"]!["name"]!} created: every preview of Sandbox shop/feature-x"));
            Assert.That(stderr, Does.Not.Contain("browser"), "stdout is not a terminal here");
        });
    }

    [Test]
    public async Task Open_LocalWorkload_GrantsTheLaptopsPreviews()
    {
        // A LocalWorkload's previews name only a port: the Service is its own spec.service.
        _api.Put(FakeApiServer.LocalWorkloads, LocalWorkload("alice-cart", Reported(("cart", 8080, "shared", CartUrl))));
        _api.Put(FakeApiServer.LocalWorkloads, LocalWorkload("bob-cart", []));

        var (code, stdout, stderr) = await _cli.RunAsync("preview", "open", "--local-workload", "alice-cart", "-o", "json");
        var (pendingCode, _, pendingErr) = await _cli.RunAsync("preview", "open", "--local-workload", "bob-cart");

        var grant = _api.Get(FakeApiServer.PreviewGrants, "shop", (string)JsonNode.Parse(stdout)!["grant"]!)!;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That((string?)grant["spec"]!["localWorkload"], Is.EqualTo("alice-cart"));
            Assert.That(grant["spec"]!["sandbox"], Is.Null);
            Assert.That(pendingCode, Is.EqualTo(ExitCodes.UserError));
            Assert.That(pendingErr, Does.Contain("the preview cart:8080 of LocalWorkload shop/bob-cart has no URL yet"));
        });
    }

    [Test]
    public async Task Open_PublicPreview_PrintsTheUrlAndCreatesNoGrant()
    {
        PutSandbox("feature-x", Declared(("web", 80, "public")), Reported(("web", 80, "public", WebUrl)));

        var (code, stdout, stderr) = await _cli.RunAsync("preview", "open", "feature-x", "-o", "json");

        var printed = JsonNode.Parse(stdout)!;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That((string?)printed["link"], Is.EqualTo(WebUrl));
            Assert.That(printed["grant"], Is.Null);
            Assert.That(printed["token"], Is.Null);
            Assert.That(_api.List(FakeApiServer.PreviewGrants, "shop"), Is.Empty);
        });
    }

    [Test]
    public async Task Open_Qr_PrintsTheLinkAsACodeOfItsModules()
    {
        PutSandbox("feature-x", Declared(("cart", 8080, "shared")), Reported(("cart", 8080, "shared", CartUrl)));

        var (code, stdout, stderr) = await _cli.RunAsync("preview", "open", "feature-x", "--qr", "--no-color");

        var lines = stdout.Split('\n');
        var link = lines.Single(l => l.StartsWith("  https://", StringComparison.Ordinal)).Trim();
        var drawn = string.Join('\n', lines.SkipWhile(l => !l.StartsWith("  https://", StringComparison.Ordinal)).Skip(1)).TrimEnd('\n');
        var modules = QrCodeText.Modules(link);
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(Decode(drawn, modules.Count), Is.EqualTo(modules.Select(Bits)), "every module of the link's code, two rows per line");
            Assert.That(modules.Count, Is.GreaterThan(21 + 8), "a URL with a token needs more than the smallest code");
        });
    }

    [Test]
    public async Task Share_NarrowsTheGrantToOnePreviewWithItsDescription()
    {
        PutSandbox("feature-x", Declared(("cart", 8080, "shared"), ("web", 80, "shared")), Reported(("cart", 8080, "shared", CartUrl), ("web", 80, "shared", WebUrl)));

        var (code, stdout, stderr) = await _cli.RunAsync("preview", "share", "feature-x", "--service", "cart", "--port", "8080", "--ttl", "2h", "--description", "for QA (Bob)", "-o", "yaml");

        var printed = YamlJson.Convert(stdout)!;
        var grant = _api.Get(FakeApiServer.PreviewGrants, "shop", (string)printed["grant"]!)!;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(grant["spec"]!["preview"]!.ToJsonString(), Is.EqualTo("""{"service":"cart","port":8080}"""));
            Assert.That((string?)grant["spec"]!["description"], Is.EqualTo("for QA (Bob)"));
            Assert.That((string?)grant["spec"]!["secretHash"], Is.EqualTo(PreviewToken.Hash((string)printed["token"]!)));
            Assert.That((string?)printed["scope"], Is.EqualTo("preview"));
            Assert.That((string?)printed["link"], Does.StartWith(CartUrl + "?token=sbxp_"));
        });
    }

    [Test]
    public async Task List_ShowsPreviewsAndGrantsWithTheirCreatorButNoTokenOrHash()
    {
        PutSandbox("feature-x", Declared(("cart", 8080, "shared"), ("web", 80, "personal")), Reported(("cart", 8080, "shared", CartUrl)));
        _api.Put(FakeApiServer.LocalWorkloads, LocalWorkload("alice-cart", Reported(("cart", 8080, "public", WebUrl))));
        var (_, opened, _) = await _cli.RunAsync("preview", "open", "feature-x", "--service", "cart", "-o", "json");
        var name = (string)JsonNode.Parse(opened)!["grant"]!;
        var stored = _api.Get(FakeApiServer.PreviewGrants, "shop", name)!;
        stored["metadata"]!["annotations"] = new JsonObject { [GrantView.CreatedByAnnotation] = "alice@example.com" };   // as the webhook stamps it
        _api.Put(FakeApiServer.PreviewGrants, stored);
        _api.Put(FakeApiServer.PreviewGrants, Grant("preview-old", "feature-x", "2020-01-01T00:00:00Z"));
        _api.Put(FakeApiServer.PreviewGrants, Grant("preview-other", "feature-y", "2999-01-01T00:00:00Z"));

        var (code, json, stderr) = await _cli.RunAsync("preview", "list", "-o", "json");
        var (tableCode, table, _) = await _cli.RunAsync("preview", "ls", "feature-x", "--no-color");

        var list = JsonNode.Parse(json)!;
        var grants = list["grants"]!.AsArray();
        var mine = grants.Single(g => (string?)g!["name"] == name)!;
        Assert.Multiple(() =>
        {
            Assert.That((code, tableCode), Is.EqualTo((0, 0)), stderr);
            Assert.That(list["previews"]!.AsArray().Select(p => $"{p!["owner"]!["kind"]}/{p["owner"]!["name"]} {p["service"]}:{p["port"]} {p["access"]} {p["url"]}"), Is.EquivalentTo(new[]
            {
                $"Sandbox/feature-x cart:8080 shared {CartUrl}",
                "Sandbox/feature-x web:80 personal ",
                $"LocalWorkload/alice-cart cart:8080 public {WebUrl}",
            }));
            Assert.That(grants.Select(g => (string?)g!["name"]), Is.EqualTo(new[] { name, "preview-old", "preview-other" }));
            Assert.That((string?)mine["createdBy"], Is.EqualTo("alice@example.com"));
            Assert.That((bool?)mine["live"], Is.True);
            Assert.That((bool?)grants.Single(g => (string?)g!["name"] == "preview-old")!["live"], Is.False);
            Assert.That(json + table, Does.Not.Contain("sbxp_").And.Not.Contain("sha256:"), "list never shows a token or hash");
            // 80 columns when stdout is not a terminal: long cells wrap.
            Assert.That(table, Does.Contain(name[..12]).And.Contain("alice@exampl").And.Contain("preview-old").And.Contain("expired").And.Contain("in 11h"));
            Assert.That(table, Does.Not.Contain("preview-other").And.Not.Contain("alice-cart"), "SANDBOX narrows the list");
        });
    }

    [Test]
    public async Task List_HostileObjects_PrintsNoControlCharactersAndNoUnsafeUrl()
    {
        PutSandbox("feature-x", Declared(("cart", 8080, "shared")), Reported(("cart", 8080, "shared\u001b[2J", "https://cart.example.com/\u001b]8;;evil")));
        var grant = Grant("preview-evil", "feature-x", "2999-01-01T00:00:00Z");
        grant["spec"]!["description"] = "\u001b[2Jcleared";
        grant["metadata"]!["annotations"] = new JsonObject { [GrantView.CreatedByAnnotation] = "mallory\r\n" };
        _api.Put(FakeApiServer.PreviewGrants, grant);

        var (code, table, stderr) = await _cli.RunAsync("preview", "list", "--no-color");
        var (openCode, _, openErr) = await _cli.RunAsync("preview", "open", "feature-x");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(table.Where(char.IsControl).Distinct(), Is.EquivalentTo(new[] { '\n' }), "only line ends");
            Assert.That(table, Does.Contain("?[2Jcleared").And.Contain("mallory??").And.Not.Contain("]8;;"));
            Assert.That(openCode, Is.EqualTo(ExitCodes.UserError), "a status URL with control characters is not a URL");
            Assert.That(openErr, Does.Contain("has no URL yet"));
        });
    }

    [Test]
    public async Task Revoke_DeletesTheNamedGrantsAndReportsAMissingOne()
    {
        _api.Put(FakeApiServer.PreviewGrants, Grant("preview-a", "feature-x", "2999-01-01T00:00:00Z"));
        _api.Put(FakeApiServer.PreviewGrants, Grant("preview-b", "feature-x", "2999-01-01T00:00:00Z"));
        _api.Put(FakeApiServer.PreviewGrants, Grant("preview-c", "feature-x", "2999-01-01T00:00:00Z"));

        var (code, stdout, stderr) = await _cli.RunAsync("preview", "revoke", "preview-a", "preview-b", "-o", "json");
        var (missingCode, missingOut, missingErr) = await _cli.RunAsync("preview", "revoke", "preview-gone", "preview-c");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(JsonNode.Parse(stdout)!.ToJsonString(), Is.EqualTo("""{"namespace":"shop","revoked":["preview-a","preview-b"]}"""));
            Assert.That(missingCode, Is.EqualTo(ExitCodes.UserError));
            Assert.That(missingErr, Does.Contain("PreviewGrant shop/preview-gone not found").And.Contain("1 of 2 grant(s) not revoked"));
            Assert.That(missingOut, Is.EqualTo("previewgrant.sandboxctl.io/preview-c revoked\n"), "the others still go");
            Assert.That(_api.List(FakeApiServer.PreviewGrants, "shop"), Is.Empty);
        });
    }

    [Test]
    public async Task RevokeAll_ForOneSandbox_LeavesOtherOwnersGrants()
    {
        _api.Put(FakeApiServer.PreviewGrants, Grant("preview-a", "feature-x", "2999-01-01T00:00:00Z"));
        _api.Put(FakeApiServer.PreviewGrants, Grant("preview-b", "feature-x", "2020-01-01T00:00:00Z"));
        _api.Put(FakeApiServer.PreviewGrants, Grant("preview-y", "feature-y", "2999-01-01T00:00:00Z"));

        var (code, stdout, stderr) = await _cli.RunAsync("preview", "revoke", "--all", "feature-x");
        var left = _api.List(FakeApiServer.PreviewGrants, "shop").Select(g => (string?)g["metadata"]!["name"]).ToArray();
        var (allCode, _, _) = await _cli.RunAsync("preview", "revoke", "--all");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stdout, Is.EqualTo("previewgrant.sandboxctl.io/preview-a revoked\npreviewgrant.sandboxctl.io/preview-b revoked\n"));
            Assert.That(left, Is.EqualTo(new[] { "preview-y" }));
            Assert.That(allCode, Is.EqualTo(ExitCodes.Ok));
            Assert.That(_api.List(FakeApiServer.PreviewGrants, "shop"), Is.Empty);
        });
    }

    [TestCase("none", new[] { "open", "feature-x" }, "Sandbox shop/feature-x has no previews.", "spec.previews")]
    [TestCase("cart", new[] { "open", "feature-x", "--service", "checkout" }, "Sandbox shop/feature-x has no preview of Service checkout; it has cart:8080.", "--service")]
    [TestCase("cart", new[] { "share", "feature-x", "--port", "9090" }, "has no preview on port 9090", "--port")]
    [TestCase("unreported", new[] { "open", "feature-x" }, "the preview cart:8080 of Sandbox shop/feature-x has no URL yet (its status.previews does not list it).", "--preview-domain")]
    [TestCase("cart", new[] { "open", "feature-y" }, "Sandbox shop/feature-y not found.", "sandboxctl sandbox list")]
    [TestCase("cart", new[] { "open", "--local-workload", "bob" }, "LocalWorkload shop/bob not found.", "localworkloads")]
    [TestCase("cart", new[] { "open" }, "name the Sandbox (SANDBOX) or the LocalWorkload (--local-workload NAME)", "--help")]
    [TestCase("cart", new[] { "open", "feature-x", "--local-workload", "bob" }, "not both", "--help")]
    [TestCase("cart", new[] { "open", "Feature_X" }, "SANDBOX must be a Kubernetes name", "--help")]
    [TestCase("cart", new[] { "open", "feature-x", "--service", "cart/../x" }, "--service must be a Service name", "--help")]
    [TestCase("cart", new[] { "open", "feature-x", "--port", "70000" }, "--port must be from 1 to 65535, got 70000.", "")]
    [TestCase("cart", new[] { "open", "feature-x", "--ttl", "0s" }, "--ttl must be a duration from 1m to 720h", "")]
    [TestCase("cart", new[] { "share", "feature-x", "--ttl", "721h" }, "--ttl must be a duration from 1m to 720h", "")]
    [TestCase("cart", new[] { "share", "feature-x", "--ttl", "forever" }, "got 'forever'", "")]
    [TestCase("cart", new[] { "share", "feature-x", "--description", "a\u001b[31mred" }, "--description may not contain control characters", "")]
    [TestCase("cart", new[] { "open", "feature-x", "--preview-domain", "preview.example.com" }, "--preview-domain is only used with --manifests", "")]
    [TestCase("cart", new[] { "revoke" }, "name the grants to revoke", "")]
    [TestCase("cart", new[] { "revoke", "--all", "a", "b" }, "--all takes at most one SANDBOX", "")]
    [TestCase("cart", new[] { "revoke", "preview-a", "--local-workload", "bob" }, "--local-workload is only used with --all", "")]
    public async Task Refusal_ExitsOneNamingWhatToFixAndCreatesNothing(string owner, string[] args, string message, string hint)
    {
        switch (owner)
        {
            case "cart":
                PutSandbox("feature-x", Declared(("cart", 8080, "shared")), Reported(("cart", 8080, "shared", CartUrl)));
                break;
            case "unreported":
                PutSandbox("feature-x", Declared(("cart", 8080, "shared")), []);
                break;
            default:
                PutSandbox("feature-x", [], []);
                break;
        }

        var (code, stdout, stderr) = await _cli.RunAsync(["preview", .. args]);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain(message).And.Contain(hint));
            Assert.That(stdout, Does.Not.Contain("sbxp_"));
            Assert.That(_api.List(FakeApiServer.PreviewGrants, "shop"), Is.Empty);
        });
    }

    [Test]
    public async Task Refusal_DescriptionTooLong_NamesTheLimit()
    {
        PutSandbox("feature-x", Declared(("cart", 8080, "shared")), Reported(("cart", 8080, "shared", CartUrl)));

        var (code, _, stderr) = await _cli.RunAsync("preview", "share", "feature-x", "--description", new string('x', 257));

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain("--description may have at most 256 characters, got 257."));
        });
    }

    [Test]
    public async Task Open_ForbiddenByRbac_SaysWhichPermissionIsMissing()
    {
        PutSandbox("feature-x", Declared(("cart", 8080, "shared")), Reported(("cart", 8080, "shared", CartUrl)));
        _api.Deny(FakeApiServer.Developer, "sandboxctl.io/previewgrants:create", "shop");

        var (code, stdout, stderr) = await _cli.RunAsync("preview", "open", "feature-x");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain("the cluster does not allow you to create previewgrants.sandboxctl.io in namespace shop (403 Forbidden).")
                .And.Contain("kubectl auth can-i create previewgrants.sandboxctl.io -n shop"));
            Assert.That(stdout, Does.Not.Contain("sbxp_"), "no link without a grant");
            Assert.That(_api.List(FakeApiServer.PreviewGrants, "shop"), Is.Empty);
        });
    }

    [Test]
    public async Task Revoke_UnreachableCluster_ExitsTwo()
    {
        var (code, _, stderr) = await _cli.RunAsync("preview", "revoke", "preview-a", "--kubeconfig", _cli.Kubeconfig(new Uri("http://127.0.0.1:1")));

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.ConnectionError));
            Assert.That(stderr, Does.Contain("cannot reach the cluster"));
        });
    }

    [Test]
    public async Task Manifests_OpenWritesAPrivateGrantFileWithTheComputedUrlAndRevokeRemovesIt()
    {
        var directory = Directory.CreateTempSubdirectory("sandboxctl-preview-manifests-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "sandbox.yaml"), """
                apiVersion: sandboxctl.io/v1alpha1
                kind: Sandbox
                metadata: {name: feature-x, namespace: shop}
                spec:
                  forks: [{of: {name: cart}}]
                  previews: [{service: cart, port: 8080, access: shared}]
                """);
            string[] manifests = ["--manifests", directory, "--preview-domain", "preview.example.com", "--preview-salt", "s3cret", "-n", "shop"];

            var (code, stdout, stderr) = await CliHarness.RunInProcessAsync(["preview", "open", "feature-x", "-o", "json", .. manifests]);
            var printed = JsonNode.Parse(stdout)!;
            var name = (string)printed["grant"]!;
            var file = Path.Combine(directory, ManifestsPreviewStore.FileName("shop", name));
            var mode = OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(file);
            var written = YamlJson.Convert(await File.ReadAllTextAsync(file))!;
            var grant = written.Deserialize<PreviewGrant>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
            var (listCode, list, _) = await CliHarness.RunInProcessAsync(["preview", "list", "-o", "json", .. manifests]);
            var (revokeCode, revoked, revokeErr) = await CliHarness.RunInProcessAsync(["preview", "revoke", name, "--manifests", directory, "-n", "shop"]);

            var url = PreviewHostNames.Url(PreviewHostNames.Host("Sandbox", "shop", "feature-x", "cart", 8080, "s3cret", "preview.example.com"));
            Assert.Multiple(() =>
            {
                Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
                Assert.That((string?)printed["link"], Is.EqualTo(url + "?token=" + (string)printed["token"]!));
                Assert.That((string?)written["kind"], Is.EqualTo("PreviewGrant"));
                Assert.That((string?)written["spec"]!["secretHash"], Is.EqualTo(PreviewToken.Hash((string)printed["token"]!)));
                Assert.That((string?)written["spec"]!["sandbox"], Is.EqualTo("feature-x"));
                Assert.That(grant.Expiry, Is.Not.Null, "the file reads strictly as the model's PreviewGrant");
                Assert.That(mode, Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "0600: it holds a hash of a secret");
                Assert.That(listCode, Is.EqualTo(ExitCodes.Ok));
                Assert.That(JsonNode.Parse(list)!["grants"]!.AsArray().Select(g => (string?)g!["name"]), Is.EqualTo(new[] { name }));
                Assert.That((string?)JsonNode.Parse(list)!["previews"]![0]!["url"], Is.EqualTo(url));
                Assert.That(revokeCode, Is.EqualTo(ExitCodes.Ok), revokeErr);
                Assert.That(revoked, Is.EqualTo($"previewgrant.sandboxctl.io/{name} revoked\n"));
                Assert.That(Directory.GetFiles(directory).Select(Path.GetFileName), Is.EqualTo(new[] { "sandbox.yaml" }), "the grant file is gone, and no temporary file was left");
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestCase(new[] { "open", "feature-x" }, "--preview-domain is needed with --manifests")]
    [TestCase(new[] { "open", "feature-x", "--preview-domain", "Not A Domain" }, "--preview-domain must be a lowercase DNS name")]
    [TestCase(new[] { "open", "feature-z", "--preview-domain", "preview.example.com" }, "Sandbox shop/feature-z is not in the manifests of")]
    [TestCase(new[] { "open", "--local-workload", "alice", "--preview-domain", "preview.example.com" }, "LocalWorkloads live in the tunnel broker's memory")]
    [TestCase(new[] { "revoke", "preview-none" }, "PreviewGrant shop/preview-none not found in --manifests")]
    public async Task Manifests_Refusal_NamesTheFlagAndWritesNothing(string[] args, string message)
    {
        var directory = Directory.CreateTempSubdirectory("sandboxctl-preview-manifests-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "sandbox.yaml"), "apiVersion: sandboxctl.io/v1alpha1\nkind: Sandbox\nmetadata: {name: feature-x, namespace: shop}\nspec: {forks: [{of: {name: cart}}], previews: [{service: cart, port: 8080}]}\n");

            var (code, _, stderr) = await CliHarness.RunInProcessAsync(["preview", .. args, "--manifests", directory, "-n", "shop"]);

            Assert.Multiple(() =>
            {
                Assert.That(code, Is.EqualTo(ExitCodes.UserError));
                Assert.That(stderr, Does.Contain(message));
                Assert.That(Directory.GetFiles(directory).Select(Path.GetFileName), Is.EqualTo(new[] { "sandbox.yaml" }));
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private void PutSandbox(string name, JsonArray declared, JsonArray reported) => _api.Put(FakeApiServer.Sandboxes, Owner("Sandbox", name, declared, reported));

    private static JsonObject Owner(string kind, string name, JsonArray declared, JsonArray reported) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = kind,
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject { ["previews"] = declared },
        ["status"] = new JsonObject { ["previews"] = reported },
    };

    private static JsonObject LocalWorkload(string name, JsonArray reported) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "LocalWorkload",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject
        {
            ["service"] = "cart",
            ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080 }),
            ["previews"] = new JsonArray(new JsonObject { ["port"] = 8080, ["access"] = "shared" }),
        },
        ["status"] = new JsonObject { ["previews"] = reported },
    };

    private static JsonArray Declared(params (string Service, int Port, string Access)[] previews) =>
        new([.. previews.Select(p => (JsonNode)new JsonObject { ["service"] = p.Service, ["port"] = p.Port, ["access"] = p.Access })]);

    private static JsonArray Reported(params (string Service, int Port, string Access, string Url)[] previews) =>
        new([.. previews.Select(p => (JsonNode)new JsonObject { ["service"] = p.Service, ["port"] = p.Port, ["access"] = p.Access, ["url"] = p.Url })]);

    private static JsonObject Grant(string name, string sandbox, string expiresAt) => new()
    {
        ["apiVersion"] = "sandboxctl.io/v1alpha1",
        ["kind"] = "PreviewGrant",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "shop" },
        ["spec"] = new JsonObject { ["sandbox"] = sandbox, ["secretHash"] = "sha256:" + new string('0', 64), ["expiresAt"] = expiresAt },
    };

    /// <summary>The module rows a drawn code shows (light modules are ink; two rows per line).</summary>
    private static IEnumerable<string> Decode(string drawn, int size)
    {
        var rows = new List<string>();
        foreach (var line in drawn.Split('\n'))
        {
            Assert.That(line, Has.Length.EqualTo(size), "one character per module column");
            rows.Add(new string([.. line.Select(c => c is '▄' or ' ' ? '1' : '0')]));
            rows.Add(new string([.. line.Select(c => c is '▀' or ' ' ? '1' : '0')]));
        }

        return rows.Take(size);
    }

    private static string Bits(BitArray row) => new([.. row.Cast<bool>().Select(b => b ? '1' : '0')]);
}
