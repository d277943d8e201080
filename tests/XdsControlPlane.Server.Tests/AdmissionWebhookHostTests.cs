using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Kubernetes.Admission;
using XdsControlPlane.Server.Webhook;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The admission webhook on servers of their own: a failing reviewer, where the serving certificate comes from
/// (generated with its CA served and written, certificate files replaced on disk), and the listener turned off.
/// </summary>
public sealed class AdmissionWebhookHostTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly HostLog _log = new();

    [SetUp]
    public void ForgetLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    private static string Fixture(string name) => AdmissionWebhookTests.Fixture(name);

    private async Task<(ServerHost Host, WebhookClient Client)> StartAsync(CancellationToken cancellationToken, Func<InProcessServer, InProcessServer> configure)
    {
        var host = await configure(new InProcessServer().WithLog(_log).With("Webhook:Port", FreePort.Next())).StartAsync(cancellationToken);
        return (host, new WebhookClient(host.WebhookPort, await WebhookClient.CaAsync(host.AdminPort, cancellationToken)));
    }

    [Test]
    public async Task Review_ReviewerThrows_Is500ForThatRequestOnlyAndLoggedOnce()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var (host, client) = await StartAsync(cancel.Token, server => server.WithServices(services => services.AddSingleton<IAdmissionReviewer>(new ThrowingReviewer())));
        await using var _ = host;
        using var __ = client;
        _log.Expect("the reviewer failed");
        var review = JsonNode.Parse(Fixture("pod-create-kube-rs.json"))!;
        review["request"]!["resource"] = new JsonObject { ["group"] = "", ["version"] = "v1", ["resource"] = "configmaps" };

        using var failed = await client.PostAsync(review.ToJsonString(), cancel.Token);
        var sandbox = await client.ReviewAsync(Fixture("sandbox-create.json"), cancel.Token);

        Assert.That(failed.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        Assert.That(await failed.Content.ReadAsStringAsync(cancel.Token), Does.Contain("0c9a8d74-9cb7-44dd-b98e-09fd62def2f4"));
        Assert.That((bool?)sandbox["allowed"], Is.True);
        Assert.That(_log.Events.Count(e => e.EventId == 7201), Is.EqualTo(1));
    }

    [Test]
    public async Task GeneratedCertificate_IsSignedByTheServedCaWrittenToTheCaFile()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var directory = Directory.CreateTempSubdirectory("webhook-ca-");
        try
        {
            var caFile = Path.Combine(directory.FullName, "ca.pem");
            var (host, client) = await StartAsync(cancel.Token, server => server.With("Webhook:CaFile", caFile));
            await using var _ = host;
            using var __ = client;

            await client.ReviewAsync(Fixture("sandbox-create.json"), cancel.Token);
            var served = client.Handshakes.Single();

            Assert.That(await File.ReadAllTextAsync(caFile, cancel.Token), Is.EqualTo(await WebhookClient.CaAsync(host.AdminPort, cancel.Token)));
            var names = served.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
            Assert.That(names.EnumerateDnsNames(), Is.EqualTo(new[] { "localhost" }));
            Assert.That(names.EnumerateIPAddresses(), Is.EquivalentTo(new[] { IPAddress.Loopback, IPAddress.IPv6Loopback }));
            Assert.That(served.PublicKey.Oid.Value, Is.EqualTo("1.2.840.10045.2.1"), "an ECDSA key");

            // A client that trusts another CA refuses the handshake.
            using var stranger = new WebhookClient(host.WebhookPort, WebhookCertificates.Generate(["localhost"], DateTimeOffset.UtcNow, TimeSpan.FromDays(1)).CaPem);
            Assert.That(async () => await stranger.PostAsync("{}", cancel.Token), Throws.InstanceOf<HttpRequestException>());
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public async Task CertificateFiles_Replaced_NewHandshakesGetTheNewCertificateAndOpenConnectionsKeepWorking()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var first = WebhookCertificates.Generate(["localhost"], DateTimeOffset.UtcNow, TimeSpan.FromDays(30));
        var second = WebhookCertificates.Generate(["localhost"], DateTimeOffset.UtcNow, TimeSpan.FromDays(30));
        await using var files = await CertificateFilesHost.StartAsync(first, _log, cancel.Token);
        var host = files.Host;
        using var open = new WebhookClient(host.WebhookPort, first.CaPem + second.CaPem);
        await open.ReviewAsync(Fixture("sandbox-create.json"), cancel.Token);

        await files.SwapAsync(second, cancel.Token);

        var expected = X509Certificate2.CreateFromPem(second.CertificatePem).Thumbprint;
        await Eventually.WaitAsync(
            async () =>
            {
                using var fresh = new WebhookClient(host.WebhookPort, first.CaPem + second.CaPem);
                await fresh.ReviewAsync(Fixture("sandbox-create.json"), cancel.Token);
                return fresh.Handshakes.Single().Thumbprint == expected;
            },
            "a new connection to get the replaced certificate");
        Assert.That((bool?)(await open.ReviewAsync(Fixture("sandbox-update.json"), cancel.Token))["allowed"], Is.True);
        Assert.That(open.Handshakes.Select(c => c.Thumbprint), Is.EqualTo(new[] { X509Certificate2.CreateFromPem(first.CertificatePem).Thumbprint }), "the open connection made no new handshake");
        Assert.That(await WebhookAnswer(host.AdminPort, cancel.Token), Is.EqualTo(HttpStatusCode.NotFound), "/debug/webhook-ca has no CA for certificate files");
    }

    [Test]
    public async Task CertificateFiles_ReplacedByGarbage_KeepThePreviousCertificate()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var bundle = WebhookCertificates.Generate(["localhost"], DateTimeOffset.UtcNow, TimeSpan.FromDays(30));
        await using var files = await CertificateFilesHost.StartAsync(bundle, _log, cancel.Token);
        _log.Expect("not loaded, the previous one stays in use");

        await files.SwapAsync(bundle with { KeyPem = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n" }, cancel.Token);
        await Eventually.WaitAsync(() => _log.Events.Any(e => e.EventId == 7206), "the bad pair to be refused");

        using var client = new WebhookClient(files.Host.WebhookPort, bundle.CaPem);
        Assert.That((bool?)(await client.ReviewAsync(Fixture("sandbox-create.json"), cancel.Token))["allowed"], Is.True);
    }

    [Test]
    public async Task WebhookPortZero_TurnsTheListenerOff()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await new InProcessServer().WithLog(_log).StartAsync(cancel.Token);

        Assert.That(host.WebhookPort, Is.Zero);
        Assert.That(await WebhookAnswer(host.AdminPort, cancel.Token), Is.EqualTo(HttpStatusCode.NotFound));
    }

    private static async Task<HttpStatusCode> WebhookAnswer(int adminPort, CancellationToken cancellationToken)
    {
        using var admin = new HttpClient();
        using var response = await admin.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/debug/webhook-ca"), cancellationToken);
        return response.StatusCode;
    }

    /// <summary>A server whose webhook serves the certificate files of a temporary directory (deleted with it).</summary>
    private sealed class CertificateFilesHost(DirectoryInfo directory, ServerHost host) : IAsyncDisposable
    {
        public ServerHost Host => host;

        public static async Task<CertificateFilesHost> StartAsync(TlsBundle bundle, HostLog log, CancellationToken cancellationToken)
        {
            var directory = Directory.CreateTempSubdirectory("webhook-certs-");
            await SwapAsync(directory.FullName, bundle, cancellationToken);
            var host = await new InProcessServer().WithLog(log)
                .With("Webhook:Port", FreePort.Next())
                .With("Webhook:CertFile", Path.Combine(directory.FullName, "tls.crt"))
                .With("Webhook:KeyFile", Path.Combine(directory.FullName, "tls.key"))

                // Change notifications reload at once; the periodic check (short here) covers a machine out of inotify instances.
                .With("Webhook:CheckInterval", TimeSpan.FromMilliseconds(500))
                .With("Webhook:RetryInterval", TimeSpan.FromMilliseconds(50))
                .StartAsync(cancellationToken);
            return new CertificateFilesHost(directory, host);
        }

        /// <summary>Writes the pair beside the files and renames both over them, one after the other.</summary>
        public Task SwapAsync(TlsBundle bundle, CancellationToken cancellationToken) => SwapAsync(directory.FullName, bundle, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await host.DisposeAsync();
            directory.Delete(recursive: true);
        }

        private static async Task SwapAsync(string directory, TlsBundle bundle, CancellationToken cancellationToken)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "tls.crt.new"), bundle.CertificatePem, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory, "tls.key.new"), bundle.KeyPem, cancellationToken);
            File.Move(Path.Combine(directory, "tls.key.new"), Path.Combine(directory, "tls.key"), overwrite: true);
            File.Move(Path.Combine(directory, "tls.crt.new"), Path.Combine(directory, "tls.crt"), overwrite: true);
        }
    }

    /// <summary>A reviewer for configmaps that fails, as a bug would.</summary>
    private sealed class ThrowingReviewer : IAdmissionReviewer
    {
        public string Resource => "configmaps";

        public string Group => "";

        public AdmissionVerdict Review(AdmissionSubject request) => throw new InvalidOperationException("a bug");
    }
}
