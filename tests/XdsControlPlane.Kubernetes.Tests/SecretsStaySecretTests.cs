using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Envoy.Service.Auth.V3;
using Envoy.Service.Status.V3;
using Grpc.Core;
using Grpc.Net.Client;
using Serilog.Formatting.Compact;
using XdsControlPlane.Model;
using XdsControlPlane.Server.Previews;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// Secrets stay secret: the server in Kubernetes mode with every kind of secret it handles — the gateway's TLS key (a
/// Secret), the preview session key (a Secret), a preview token and the session cookie it is exchanged for, the
/// admission webhook's key (a Secret the leader creates), and a local-connect agent's tunnel secret (right, and a wrong
/// one refused) — then everything the run wrote is searched for each secret: the log (text and JSON), /debug/snapshot
/// of every group, /metrics, CSDS, and every object, status patch and Event the server wrote or left in the API server
/// (the Secrets themselves aside). In Kubernetes mode the server writes no files.
/// </summary>
public sealed class SecretsStaySecretTests
{
    private const string TlsNamespace = "edge";
    private const string TlsSecretName = "preview-tls";
    private const string WebhookSecretName = "xds-control-plane-webhook";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private static readonly PreviewUnderTest Shared = new(Sandbox.KindName, "shop", "feature-x", "cart", 8080, Preview.Shared);

    [Test]
    public async Task EverySecretTheServerHandles_AppearsInNothingItWrote()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var log = new HostLog();
        await using var api = await FakeApiServer.StartAsync();
        var sessionKey = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var previewToken = PreviewToken.Create();
        var tunnelSecret = "tunnel-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var wrongTunnelSecret = "wrong-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var tls = TestCertificates.Wildcard();
        api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "echo"));
        api.Put(FakeApiServer.Secrets, FakeApiServer.SecretObject("sandboxctl-system", PreviewAccessOptions.DefaultSessionKeySecret, new Dictionary<string, string> { [SecretPreviewSessionKeySource.DataKey] = sessionKey }));
        var tlsSecret = FakeApiServer.SecretObject(TlsNamespace, TlsSecretName, new Dictionary<string, string> { ["tls.crt"] = tls.ChainPem, ["tls.key"] = tls.KeyPem });
        tlsSecret["type"] = "kubernetes.io/tls";
        api.Put(FakeApiServer.Secrets, tlsSecret);
        api.Put(FakeApiServer.Sandboxes, Owned(Sandbox.KindName, "feature-x", new JsonObject { ["ttl"] = "72h" }));
        api.Put(FakeApiServer.PreviewGrants, Owned(PreviewGrant.KindName, "colleague", new JsonObject
        {
            ["sandbox"] = "feature-x",
            ["secretHash"] = PreviewToken.Hash(previewToken),
            ["expiresAt"] = PreviewGrant.FormatTimestamp(DateTimeOffset.UtcNow.AddHours(24)),
        }));
        api.Put(FakeApiServer.LocalWorkloads, Owned(LocalWorkload.KindName, "alice", new JsonObject
        {
            ["routingKey"] = "feature-x",
            ["service"] = "echo",
            ["ports"] = new JsonArray(new JsonObject { ["port"] = 8080, ["protocol"] = "grpc" }),
            ["secretHash"] = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(tunnelSecret))),
        }));
        log.Expect("does not match spec.secretHash");
        await using var host = await new InProcessServer().WithLog(log).WithKubernetesApi(api.Url)
            .With("GatewayTls:Secret", $"{TlsNamespace}/{TlsSecretName}")
            .With("Translation:PreviewDomain", "preview.example.com")
            .With("Webhook:Port", FreePort.Next())
            .With("Webhook:Secret", WebhookSecretName)
            .With("Webhook:RetryInterval", TimeSpan.FromMilliseconds(50))
            .StartAsync(cancel.Token);

        // The webhook's key, made by the leader and stored in its Secret.
        await Eventually.WaitAsync(() => api.Get(FakeApiServer.Secrets, "sandboxctl-system", WebhookSecretName) is not null, "the webhook's Secret to be created", cancel.Token);
        var webhookKey = KeyLine(Data(api.Get(FakeApiServer.Secrets, "sandboxctl-system", WebhookSecretName)!, "tls.key"));

        // The preview token exchanged for a session cookie, and the cookie used.
        using var xds = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        var authorization = new Authorization.AuthorizationClient(xds);
        CheckResponse? redirect = null;
        await Eventually.WaitAsync(
            async () => PreviewCheckRequests.StatusOf(redirect = await authorization.CheckAsync(PreviewCheckRequests.For(Shared, path: "/?token=" + previewToken), cancellationToken: cancel.Token)) == 302,
            () => $"the token to be exchanged for a session (last answer {redirect?.Status?.Message})");
        var cookie = PreviewCheckRequests.Header(redirect!, "set-cookie")!.Split("; ")[0];
        var cookieValue = cookie[(cookie.IndexOf('=', StringComparison.Ordinal) + 1)..];
        await authorization.CheckAsync(PreviewCheckRequests.For(Shared, headers: [("cookie", cookie)]), cancellationToken: cancel.Token);
        await authorization.CheckAsync(PreviewCheckRequests.For(Shared, headers: [("authorization", "Bearer " + previewToken)]), cancellationToken: cancel.Token);

        // A local-connect agent: a wrong secret refused, the right one admitted and its heartbeat written.
        var wrong = Assert.ThrowsAsync<RpcException>(async () => await ConnectAgentAsync(host, wrongTunnelSecret));
        Assert.That(wrong!.Status.Detail, Does.Contain("does not match spec.secretHash"));
        await using (await ConnectAgentAsync(host, tunnelSecret))
        {
            await Eventually.WaitAsync(() => api.Get(FakeApiServer.LocalWorkloads, "shop", "alice")?["status"]?["tunnel"] is not null, "the agent's tunnel status to be written", cancel.Token);
        }

        // Everything the run wrote.
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };
        var written = new Dictionary<string, string>
        {
            ["/debug/snapshot"] = await admin.GetStringAsync(new Uri("/debug/snapshot", UriKind.Relative), cancel.Token),
            ["/metrics"] = await admin.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancel.Token),
            ["CSDS"] = (await new ClientStatusDiscoveryService.ClientStatusDiscoveryServiceClient(xds).FetchClientStatusAsync(new ClientStatusRequest(), cancellationToken: cancel.Token)).ToString(),
            ["API server objects, status patches and Events"] = api.DumpExcept(FakeApiServer.Secrets),
        };
        await host.StopAsync(cancel.Token);
        written["log (JSON)"] = log.Render(new CompactJsonFormatter());
        written["log (text)"] = string.Join("\n", log.Events.Select(e => e.Text));

        var secrets = new Dictionary<string, string>
        {
            ["the gateway's TLS key"] = tls.KeyLine,
            ["the preview session key"] = sessionKey,
            ["the preview token"] = previewToken,
            ["the preview session cookie"] = cookieValue,
            ["the webhook's key"] = webhookKey,
            ["the tunnel secret"] = tunnelSecret,
            ["a wrong tunnel secret"] = wrongTunnelSecret,
        };
        await TestContext.Out.WriteLineAsync($"searched {written.Sum(w => w.Value.Length):N0} characters in {written.Count} places for {secrets.Count} secrets");
        Assert.Multiple(() =>
        {
            Assert.That(written["/debug/snapshot"], Does.Contain("gateway-tls"), "the snapshot holds the SDS secret (redacted)");
            foreach (var (place, text) in written)
            {
                foreach (var (secret, value) in secrets)
                {
                    Assert.That(text.Contains(value, StringComparison.Ordinal), Is.False, $"{secret} found in {place}");
                }

                Assert.That(text, Does.Not.Contain("PRIVATE KEY"), $"a private key in {place}");
            }
        });
        log.AssertNoUnexpectedWarnings();
    }

    private static Task<TunnelTestAgent> ConnectAgentAsync(Server.ServerHost host, string secret)
    {
        var hello = TunnelTestAgent.Hello("shop", "alice", "echo", [], secret: secret);
        hello.Spec = null;
        return TunnelTestAgent.ConnectAsync(host.TunnelPort, hello, new Dictionary<int, int>());
    }

    private static JsonObject Owned(string kind, string name, JsonObject spec) => new()
    {
        ["apiVersion"] = ApiVersions.Sandboxctl,
        ["kind"] = kind,
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["namespace"] = "shop",
            ["annotations"] = new JsonObject { ["sandboxctl.io/created-by"] = "alice@example.com", ["sandboxctl.io/created-by-uid"] = "u-alice" },
        },
        ["spec"] = spec,
    };

    private static string Data(JsonObject secret, string key) => Encoding.UTF8.GetString(Convert.FromBase64String((string)secret["data"]![key]!));

    private static string KeyLine(string pem) => pem.Split('\n').First(line => line.Length >= 40 && !line.StartsWith("-----", StringComparison.Ordinal));
}
