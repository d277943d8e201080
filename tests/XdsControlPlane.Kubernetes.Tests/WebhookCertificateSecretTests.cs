using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using XdsControlPlane.Server.Webhook;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// The webhook's certificate in Kubernetes mode (<c>--webhook-secret</c>, <c>--webhook-configuration</c>) against the
/// fake API server with the official client: the leader creates the Secret when absent and renews it when a third of
/// its life is left, a valid one is served as stored, and the MutatingWebhookConfiguration's caBundle follows the CA.
/// </summary>
public sealed class WebhookCertificateSecretTests
{
    private const string Namespace = "sandboxctl-system";
    private const string SecretName = "xds-control-plane-webhook";
    private const string ConfigurationName = "xds-control-plane";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly HostLog _log = new();

    [SetUp]
    public void ForgetLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    [TestCase(null, true, "Create")]
    [TestCase(null, false, "Wait")]
    [TestCase(10, true, "Use")]
    [TestCase(10, false, "Use")]
    [TestCase(75, true, "Replace")]
    [TestCase(75, false, "Use")]
    [TestCase(110, true, "Replace")]
    [TestCase(110, false, "Wait")]
    public void Decide_StoredCertificateAgeAndLeadership_GiveTheAction(int? percentOfLifeGone, bool leader, string expected)
    {
        var now = DateTimeOffset.UtcNow;
        var life = TimeSpan.FromDays(30);
        var stored = percentOfLifeGone is { } gone ? WebhookCertificates.Generate(["localhost"], now - (life * gone / 100), life) : null;

        Assert.That(SecretCertificateSource.Decide(stored, leader, now).ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void Decide_UnreadableSecret_IsReplacedByTheLeaderOnly()
    {
        var garbage = new TlsBundle("not a certificate", "not a key", "");

        Assert.That((SecretCertificateSource.Decide(garbage, true, DateTimeOffset.UtcNow), SecretCertificateSource.Decide(garbage, false, DateTimeOffset.UtcNow)), Is.EqualTo((SecretAction.Replace, SecretAction.Wait)));
    }

    [Test]
    public async Task SecretAbsent_LeaderCreatesItServesItAndPatchesEveryCaBundle()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var api = await FakeApiServer.StartAsync();
        api.PutMutatingWebhookConfiguration(ConfigurationName, "xds-control-plane-webhook", Namespace, "sidecar.sandboxctl.io", "owner.sandboxctl.io");
        await using var host = await StartAsync(api, cancel.Token);

        await Eventually.WaitAsync(() => api.WebhookConfigurationPatches.Count > 0, "the caBundle to be patched");
        var secret = api.Get(FakeApiServer.Secrets, Namespace, SecretName)!;
        var ca = Data(secret, "ca.crt");
        using var client = new WebhookClient(host.WebhookPort, await WebhookClient.CaAsync(host.AdminPort, cancel.Token));
        await client.ReviewAsync(SandboxCreate(), cancel.Token);

        Assert.That((string?)secret["type"], Is.EqualTo("kubernetes.io/tls"));
        Assert.That(client.Handshakes.Single().Thumbprint, Is.EqualTo(X509Certificate2.CreateFromPem(Data(secret, "tls.crt")).Thumbprint));
        Assert.That(X509Certificate2.CreateFromPem(Data(secret, "tls.crt")).Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames(),
            Is.EqualTo(new[] { "localhost", $"xds-control-plane-webhook.{Namespace}.svc" }));
        Assert.That(CaBundles(api), Is.EqualTo(new[] { ca, ca }));
        Assert.That(api.Permissions().Where(p => p.Contains("secrets", StringComparison.Ordinal) || p.Contains("webhookconfigurations", StringComparison.Ordinal)), Is.EqualTo(new[]
        {
            "/secrets:create",
            "/secrets:get",
            "admissionregistration.k8s.io/mutatingwebhookconfigurations:get",
            "admissionregistration.k8s.io/mutatingwebhookconfigurations:patch",
        }));
    }

    [Test]
    public async Task SecretPresentAndValid_IsServedAsStoredAndNeverWritten()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var api = await FakeApiServer.StartAsync();
        var stored = WebhookCertificates.Generate(["localhost"], DateTimeOffset.UtcNow, TimeSpan.FromDays(30));
        api.Put(FakeApiServer.Secrets, SecretObject(stored));
        api.PutMutatingWebhookConfiguration(ConfigurationName, "xds-control-plane-webhook", Namespace, "owner.sandboxctl.io");
        await using var host = await StartAsync(api, cancel.Token);

        await Eventually.WaitAsync(() => api.WebhookConfigurationPatches.Count > 0, "the caBundle to be patched");
        using var client = new WebhookClient(host.WebhookPort, stored.CaPem);
        await client.ReviewAsync(SandboxCreate(), cancel.Token);

        Assert.That(client.Handshakes.Single().Thumbprint, Is.EqualTo(X509Certificate2.CreateFromPem(stored.CertificatePem).Thumbprint));
        Assert.That(CaBundles(api), Is.EqualTo(new[] { stored.CaPem }));
        Assert.That(api.Permissions(), Has.None.Matches<string>(p => p is "/secrets:create" or "/secrets:update"));
    }

    [Test]
    public async Task SecretExpiring_LeaderRenewsItKeepingThePreviousCaTrusted()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var api = await FakeApiServer.StartAsync();
        var life = TimeSpan.FromDays(30);
        var old = WebhookCertificates.Generate(["localhost"], DateTimeOffset.UtcNow - (life * 0.8), life);
        api.Put(FakeApiServer.Secrets, SecretObject(old));
        api.PutMutatingWebhookConfiguration(ConfigurationName, "xds-control-plane-webhook", Namespace, "owner.sandboxctl.io");
        await using var host = await StartAsync(api, cancel.Token);

        await Eventually.WaitAsync(() => api.WebhookConfigurationPatches.Count > 0, "the caBundle to be patched");
        var renewed = api.Get(FakeApiServer.Secrets, Namespace, SecretName)!;
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPem(Data(renewed, "ca.crt"));

        Assert.That(Data(renewed, "tls.crt"), Is.Not.EqualTo(old.CertificatePem));
        Assert.That(bundle.Select(c => c.Thumbprint).Skip(1), Is.EqualTo(new[] { X509Certificate2.CreateFromPem(old.CaPem).Thumbprint }), "the previous CA follows the new one");
        Assert.That(CaBundles(api), Is.EqualTo(new[] { Data(renewed, "ca.crt") }));
        Assert.That(api.Permissions(), Does.Contain("/secrets:update"));
    }

    private Task<Server.ServerHost> StartAsync(FakeApiServer api, CancellationToken cancellationToken) =>
        new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url)
            .With("Webhook:Port", FreePort.Next())
            .With("Webhook:Secret", SecretName)
            .With("Webhook:Configuration", ConfigurationName)
            .With("Webhook:Service", "xds-control-plane-webhook")
            .With("Webhook:RetryInterval", TimeSpan.FromMilliseconds(50))
            .StartAsync(cancellationToken);

    private static JsonObject SecretObject(TlsBundle bundle)
    {
        var secret = FakeApiServer.SecretObject(Namespace, SecretName, new Dictionary<string, string> { ["tls.crt"] = bundle.CertificatePem, ["tls.key"] = bundle.KeyPem, ["ca.crt"] = bundle.CaPem });
        secret["type"] = "kubernetes.io/tls";
        return secret;
    }

    private static string Data(JsonObject secret, string key) => Encoding.UTF8.GetString(Convert.FromBase64String((string)secret["data"]![key]!));

    private static string[] CaBundles(FakeApiServer api) =>
        [.. api.GetMutatingWebhookConfiguration(ConfigurationName)!["webhooks"]!.AsArray().Select(w => Encoding.UTF8.GetString(Convert.FromBase64String((string)w!["clientConfig"]!["caBundle"]!)))];

    private static string SandboxCreate() => File.ReadAllText(RepoDirectory.Path("tests", "XdsControlPlane.Server.Tests", "Fixtures", "admission", "sandbox-create.json"));
}
