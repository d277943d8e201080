using System.CommandLine;
using Microsoft.Extensions.Configuration;
using XdsControlPlane.Server.Webhook;
using XdsControlPlane.Translation;
using XdsControlPlane.Xds;
using TunnelBrokerOptions = XdsControlPlane.Tunnel.TunnelBrokerOptions;

namespace XdsControlPlane.Server.Tests;

/// <summary>Option parsing and validation, in process.</summary>
public sealed class ServerCommandLineTests
{
    [Test]
    public async Task Invoke_NoArguments_RunsWithDocumentedDefaults()
    {
        var (exit, settings, _, _) = await InvokeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(Bind<XdsListenerOptions>(settings, XdsListenerOptions.Section).Port, Is.EqualTo(18000));
            Assert.That(Bind<AdminEndpointOptions>(settings, AdminEndpointOptions.Section).Port, Is.EqualTo(19000));
            Assert.That(Bind<TunnelListenerOptions>(settings, TunnelListenerOptions.Section).Port, Is.EqualTo(18001));
            Assert.That(Bind<HostingOptions>(settings, HostingOptions.Section).Loopback, Is.False);
            Assert.That(Bind<HostingOptions>(settings, HostingOptions.Section).LogFormat, Is.EqualTo(LogFormat.Plain));
            Assert.That(Bind<XdsServerOptions>(settings, XdsListenerOptions.Section).MaxStreamAge, Is.EqualTo(TimeSpan.FromMinutes(30)));
            Assert.That(Bind<XdsServerOptions>(settings, XdsListenerOptions.Section).MaxRequestBytes, Is.EqualTo(4 * 1024 * 1024));
            Assert.That(Bind<TunnelBrokerOptions>(settings, TunnelListenerOptions.Section).FirstListenPort, Is.EqualTo(18100));
            Assert.That(Bind<WebhookListenerOptions>(settings, WebhookListenerOptions.Section).Port, Is.EqualTo(18443));
        });
    }

    [Test]
    public async Task Invoke_AllOptions_AreParsed()
    {
        var (_, settings, _, _) = await InvokeAsync("--xds-port", "0", "--admin-port", "9000", "--loopback", "--log-format", "json", "--tunnel-listen-ports", "20000-20009");
        var hosting = Bind<HostingOptions>(settings, HostingOptions.Section);
        var broker = Bind<TunnelBrokerOptions>(settings, TunnelListenerOptions.Section);

        Assert.That(
            (Bind<XdsListenerOptions>(settings, XdsListenerOptions.Section).Port, Bind<AdminEndpointOptions>(settings, AdminEndpointOptions.Section).Port, hosting.Loopback, hosting.LogFormat, broker.FirstListenPort, broker.ListenPortCount),
            Is.EqualTo((0, 9000, true, LogFormat.Json, 20000, 10)));
    }

    [TestCase(new[] { "--xds-port", "70000" }, "--xds-port must be between 0 and 65535, got 70000.")]
    [TestCase(new[] { "--admin-port", "-1" }, "--admin-port must be between 0 and 65535, got -1.")]
    [TestCase(new[] { "--xds-port", "9000", "--admin-port", "9000" }, "--xds-port and --admin-port must differ, both are 9000.")]
    [TestCase(new[] { "--xds-port", "abc" }, "Cannot parse argument 'abc' for option '--xds-port'")]
    [TestCase(new[] { "--admin-port", "9000x" }, "Cannot parse argument '9000x' for option '--admin-port'")]
    [TestCase(new[] { "--tunnel-port", "" }, "--tunnel-port")]
    [TestCase(new[] { "--log-format", "xml" }, "xml")]
    [TestCase(new[] { "--max-stream-age", "soon" }, "--max-stream-age must be a positive duration up to 720h, such as 90s, 30m or 1h, got 'soon'.")]
    [TestCase(new[] { "--max-stream-age", "0s" }, "--max-stream-age must be a positive duration up to 720h, such as 90s, 30m or 1h, got '0s'.")]
    [TestCase(new[] { "--max-stream-age", "1000h" }, "--max-stream-age must be a positive duration up to 720h, such as 90s, 30m or 1h, got '1000h'.")]
    [TestCase(new[] { "--max-request-bytes", "4MB" }, "--max-request-bytes must be a size from 64Ki to 1Gi (65536 to 1073741824 bytes), such as 4Mi or 16777216, got '4MB'.")]
    [TestCase(new[] { "--max-request-bytes", "1000" }, "--max-request-bytes must be a size from 64Ki to 1Gi (65536 to 1073741824 bytes), such as 4Mi or 16777216, got '1000'.")]
    [TestCase(new[] { "--max-request-bytes", "2Gi" }, "--max-request-bytes must be a size from 64Ki to 1Gi (65536 to 1073741824 bytes), such as 4Mi or 16777216, got '2Gi'.")]
    [TestCase(new[] { "--max-request-bytes", "99999999999999999999" }, "--max-request-bytes must be a size from 64Ki to 1Gi (65536 to 1073741824 bytes), such as 4Mi or 16777216, got '99999999999999999999'.")]
    [TestCase(new[] { "--debug-token", "short" }, "--debug-token must be a bearer token of at least 16 letters, digits and -._~+/, got 5 characters.")]
    [TestCase(new[] { "--debug-token", "long enough but with spaces" }, "--debug-token must be a bearer token of at least 16 letters, digits and -._~+/, got a character outside those.")]
    [TestCase(new[] { "--manifests-typo", "x" }, "--manifests-typo")]
    [TestCase(new[] { "--manifests", "/no/such/directory" }, "--manifests must be an existing directory, got '/no/such/directory'.")]
    [TestCase(new[] { "--manifests", "/tmp", "--kubernetes" }, "--manifests and --kubernetes are alternative sources; give one.")]
    [TestCase(new[] { "--context", "prod" }, "--kubeconfig and --context only apply with --kubernetes.")]
    [TestCase(new[] { "--kubernetes", "--kubeconfig", "/no/such/kubeconfig" }, "--kubeconfig must be an existing file, got '/no/such/kubeconfig'.")]
    [TestCase(new[] { "--watch-namespace", "shop" }, "--watch-namespace only applies with --kubernetes.")]
    [TestCase(new[] { "--manifests", "/tmp", "--xds-token-review", "optional" }, "--xds-token-review applies with --kubernetes only: ServiceAccount tokens are checked by the API server's TokenReview, and manifests mode has none.")]
    [TestCase(new[] { "--kubernetes", "--xds-token-review", "sometimes" }, "sometimes")]
    [TestCase(new[] { "--xds-port", "9000", "--webhook-port", "9000" }, "--webhook-port must differ from --xds-port, --admin-port and --tunnel-port, got 9000.")]
    [TestCase(new[] { "--webhook-port", "65536" }, "--webhook-port must be between 0 and 65535, got 65536.")]
    [TestCase(new[] { "--webhook-cert-file", "/etc/hostname" }, "--webhook-cert-file and --webhook-key-file go together; give both or neither.")]
    [TestCase(new[] { "--webhook-cert-file", "/no/such/tls.crt", "--webhook-key-file", "/etc/hostname" }, "--webhook-cert-file and --webhook-key-file must be existing files, got '/no/such/tls.crt'.")]
    [TestCase(new[] { "--webhook-secret", "xds-webhook" }, "--webhook-secret only applies with --kubernetes.")]
    [TestCase(new[] { "--webhook-configuration", "xds" }, "--webhook-configuration only applies with --kubernetes.")]
    [TestCase(new[] { "--webhook-service", "xds" }, "--webhook-service only applies with --kubernetes.")]
    [TestCase(new[] { "--kubernetes", "--webhook-secret", "s", "--webhook-cert-file", "/etc/hostname", "--webhook-key-file", "/etc/hostname" }, "--webhook-cert-file and --webhook-secret are alternative certificate sources; give one.")]
    [TestCase(new[] { "--kubernetes", "--watch-namespace", "Shop_1" }, "--watch-namespace must be a namespace name (lower-case letters, digits and '-', at most 63), got 'Shop_1'.")]
    public async Task Invoke_InvalidOption_ExitsOneNamingTheOptionWithoutRunning(string[] args, string expectedError)
    {
        var (exit, settings, _, error) = await InvokeAsync(args);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(settings, Is.Null, "the host must not start");
            Assert.That(error, Does.Contain(expectedError));
        });
    }

    [Test]
    public async Task Invoke_WebhookFlags_SetTheWebhookSection()
    {
        var (exit, settings, _, error) = await InvokeAsync(
            "--kubernetes", "--webhook-port", "0", "--webhook-dns-name", "webhook.example.com", "--webhook-dns-name", "localhost",
            "--webhook-service", "xds-webhook", "--webhook-secret", "xds-webhook-tls", "--webhook-configuration", "xds-control-plane", "--webhook-ca-file", "/tmp/ca.pem");
        var webhook = Bind<WebhookListenerOptions>(settings, WebhookListenerOptions.Section);

        Assert.That(exit, Is.Zero, error);
        Assert.That(
            (webhook.Port, webhook.Enabled, string.Join(",", webhook.DnsNames), webhook.Service, webhook.Secret, webhook.Configuration, webhook.CaFile),
            Is.EqualTo((0, false, "webhook.example.com,localhost", "xds-webhook", "xds-webhook-tls", "xds-control-plane", "/tmp/ca.pem")));
    }

    [Test]
    public async Task Invoke_WatchNamespace_RepeatedOrCommaSeparated()
    {
        var (exit, settings, _, error) = await InvokeAsync("--kubernetes", "--watch-namespace", "shop,payments", "--watch-namespace", "shop", "--watch-namespace", "staging");

        Assert.That(exit, Is.Zero, error);
        Assert.That(Bind<KubernetesSourcesOptions>(settings, KubernetesSourcesOptions.Section).Namespaces, Is.EqualTo(new[] { "shop", "payments", "staging" }));
    }

    [TestCase("90s", 90)]
    [TestCase("30m", 1800)]
    [TestCase("1h30m", 5400)]
    [TestCase("1500ms", 1.5)]
    public async Task Invoke_MaxStreamAge_AcceptsGoDurations(string text, double seconds)
    {
        var (_, settings, _, _) = await InvokeAsync("--max-stream-age", text);

        Assert.That(Bind<XdsServerOptions>(settings, XdsListenerOptions.Section).MaxStreamAge, Is.EqualTo(TimeSpan.FromSeconds(seconds)));
    }

    [TestCase("65536", 65536)]
    [TestCase("512Ki", 512 * 1024)]
    [TestCase("16Mi", 16 * 1024 * 1024)]
    [TestCase("1Gi", 1024 * 1024 * 1024)]
    public async Task Invoke_MaxRequestBytes_AcceptsBytesAndBinarySuffixes(string text, int bytes)
    {
        var (exit, settings, _, error) = await InvokeAsync("--max-request-bytes", text);

        Assert.That((exit, Bind<XdsServerOptions>(settings, XdsListenerOptions.Section).MaxRequestBytes), Is.EqualTo((0, bytes)), error);
    }

    [Test]
    public async Task Invoke_DebugToken_FromTheFlagElseTheEnvironment()
    {
        var before = Environment.GetEnvironmentVariable(ServerConfiguration.DebugTokenVariable);
        try
        {
            Environment.SetEnvironmentVariable(ServerConfiguration.DebugTokenVariable, null);
            var (_, none, _, _) = await InvokeAsync();
            var (_, flag, _, _) = await InvokeAsync("--debug-token", "from-the-flag-0123456789");
            Environment.SetEnvironmentVariable(ServerConfiguration.DebugTokenVariable, "from-the-environment-0123");
            var (_, environment, _, _) = await InvokeAsync();
            var (_, both, _, _) = await InvokeAsync("--debug-token", "from-the-flag-0123456789");
            Environment.SetEnvironmentVariable(ServerConfiguration.DebugTokenVariable, "short");
            var (exit, bad, _, error) = await InvokeAsync();

            Assert.Multiple(() =>
            {
                Assert.That(DebugToken(none), Is.Null);
                Assert.That(DebugToken(flag), Is.EqualTo("from-the-flag-0123456789"));
                Assert.That(DebugToken(environment), Is.EqualTo("from-the-environment-0123"));
                Assert.That(DebugToken(both), Is.EqualTo("from-the-flag-0123456789"), "the flag wins");
                Assert.That((exit, bad), Is.EqualTo((1, (IConfiguration?)null)));
                Assert.That(error, Does.Contain("XDSCP_DEBUG_TOKEN must be a bearer token of at least 16").And.Not.Contain("short"), "names the variable, never echoes the token");
            });
        }
        finally
        {
            Environment.SetEnvironmentVariable(ServerConfiguration.DebugTokenVariable, before);
        }
    }

    [Test]
    public async Task Invoke_Help_PrintsEveryOptionAndDoesNotRun()
    {
        var (exit, settings, output, _) = await InvokeAsync("--help");

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(settings, Is.Null);
            Assert.That(output, Does.Contain("--xds-port").And.Contain("--admin-port").And.Contain("--log-format").And.Contain("--loopback").And.Contain("--max-stream-age").And.Contain("--max-request-bytes").And.Contain("--debug-token").And.Contain("--webhook-port").And.Contain("--webhook-secret"));
        });
    }

    [Test]
    public async Task Invoke_ConfigFile_SetsKeysTheEnvironmentAndFlagsOverride()
    {
        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"server-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, """
            {
              "Xds": { "Port": 18500, "MaxStreamAge": "00:10:00" },
              "Admin": { "Port": 19500 },
              "Tunnel": { "Port": 18600, "ReconnectGrace": "00:00:05" },
              "Translation": { "GatewayPort": 9090 }
            }
            """);
        var before = Environment.GetEnvironmentVariable("XDSCP_ADMIN__PORT");
        try
        {
            Environment.SetEnvironmentVariable("XDSCP_ADMIN__PORT", "19600");
            var (exit, settings, _, error) = await InvokeAsync("--config", file, "--xds-port", "18700");

            Assert.Multiple(() =>
            {
                Assert.That(exit, Is.Zero, error);
                Assert.That(Bind<XdsListenerOptions>(settings, XdsListenerOptions.Section).Port, Is.EqualTo(18700), "the flag wins");
                Assert.That(Bind<XdsServerOptions>(settings, XdsListenerOptions.Section).MaxStreamAge, Is.EqualTo(TimeSpan.FromMinutes(10)), "the file, where no flag was given");
                Assert.That(Bind<AdminEndpointOptions>(settings, AdminEndpointOptions.Section).Port, Is.EqualTo(19600), "the environment over the file");
                Assert.That(Bind<TunnelListenerOptions>(settings, TunnelListenerOptions.Section).Port, Is.EqualTo(18600));
                Assert.That(Bind<TunnelBrokerOptions>(settings, TunnelListenerOptions.Section).ReconnectGrace, Is.EqualTo(TimeSpan.FromSeconds(5)));
                Assert.That(Bind<TranslationOptions>(settings, PublishOptions.TranslationSection).GatewayPort, Is.EqualTo(9090));
            });
        }
        finally
        {
            Environment.SetEnvironmentVariable("XDSCP_ADMIN__PORT", before);
            File.Delete(file);
        }
    }

    [Test]
    public async Task Invoke_ConfigFileMissing_ExitsOne()
    {
        var (exit, settings, _, error) = await InvokeAsync("--config", "/no/such/server.json");

        Assert.Multiple(() =>
        {
            Assert.That((exit, settings), Is.EqualTo((1, (IConfiguration?)null)));
            Assert.That(error, Does.Contain("--config must be an existing file, got '/no/such/server.json'."));
        });
    }

    [Test]
    public async Task Invoke_ConfigFileNotJson_ExitsOneNamingTheFile()
    {
        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"server-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, "{\"Xds\":");
        try
        {
            var (exit, settings, _, error) = await InvokeAsync("--config", file);

            Assert.Multiple(() =>
            {
                Assert.That((exit, settings), Is.EqualTo((1, (IConfiguration?)null)));
                Assert.That(error, Does.Contain($"--config: Failed to load configuration from file '{file}'."));
            });
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task Invoke_PodVariables_SetTheReplicaTheLeaseNamespaceAndTheTunnelAddress()
    {
        string?[] before = [Environment.GetEnvironmentVariable("POD_NAME"), Environment.GetEnvironmentVariable("POD_NAMESPACE"), Environment.GetEnvironmentVariable("POD_IP")];
        try
        {
            Environment.SetEnvironmentVariable("POD_NAME", "xdscp-0");
            Environment.SetEnvironmentVariable("POD_NAMESPACE", "mesh");
            Environment.SetEnvironmentVariable("POD_IP", "10.1.2.3");
            var (_, settings, _, _) = await InvokeAsync("--kubernetes");
            var (_, flagged, _, _) = await InvokeAsync("--kubernetes", "--tunnel-address", "10.9.9.9");

            Assert.Multiple(() =>
            {
                Assert.That(Bind<HostingOptions>(settings, HostingOptions.Section).Replica, Is.EqualTo("xdscp-0"));
                Assert.That(Bind<KubernetesSourcesOptions>(settings, KubernetesSourcesOptions.Section).LeaseNamespace, Is.EqualTo("mesh"));
                Assert.That(Bind<TunnelBrokerOptions>(settings, TunnelListenerOptions.Section).AdvertiseAddress, Is.EqualTo("10.1.2.3"));
                Assert.That(Bind<TunnelBrokerOptions>(flagged, TunnelListenerOptions.Section).AdvertiseAddress, Is.EqualTo("10.9.9.9"), "the flag wins");
            });
        }
        finally
        {
            Environment.SetEnvironmentVariable("POD_NAME", before[0]);
            Environment.SetEnvironmentVariable("POD_NAMESPACE", before[1]);
            Environment.SetEnvironmentVariable("POD_IP", before[2]);
        }
    }

    [Test]
    public async Task Invoke_PreviewFlags_SetTheTranslationsPreviewOptions()
    {
        var (exit, settings, _, _) = await InvokeAsync("--preview-domain", "preview.example.com", "--preview-salt", "s3cret-salt", "--preview-rate-limit", "5/10");
        var (_, defaults, _, _) = await InvokeAsync();

        var options = Bind<TranslationOptions>(settings, PublishOptions.TranslationSection);
        var byDefault = Bind<TranslationOptions>(defaults, PublishOptions.TranslationSection);
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That((options.PreviewDomain, options.PreviewSalt, options.PreviewRequestsPerSecond, options.PreviewBurst), Is.EqualTo(("preview.example.com", "s3cret-salt", 5, 10)));
            Assert.That((byDefault.PreviewDomain, byDefault.PreviewSalt, byDefault.PreviewRequestsPerSecond, byDefault.PreviewBurst), Is.EqualTo(("", "", 50, 100)), "previews off by default");
        });
    }

    [TestCase("10/5")]
    [TestCase("0/10")]
    [TestCase("fifty")]
    [TestCase("20000/20000")]
    public async Task Invoke_BadPreviewRateLimit_ExitsOneNamingTheFlag(string value)
    {
        var (exit, _, _, error) = await InvokeAsync("--preview-rate-limit", value);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(error, Does.Contain("--preview-rate-limit must be RPS/BURST"));
        });
    }

    [Test]
    public async Task Invoke_ListenerTlsFlags_SetTheXdsAndTunnelTlsKeysAndNodeIdentity()
    {
        var (exit, settings, _, error) = await InvokeAsync(
            "--xds-tls-cert-file", "/tls/xds.crt", "--xds-tls-key-file", "/tls/xds.key", "--xds-tls-client-certs", "required", "--xds-tls-client-ca-file", "/tls/ca.crt",
            "--xds-trust-domain", "example.org", "--xds-role-identity", "gateway=edge/gw", "--xds-role-identity", "sidecar=*/*",
            "--tunnel-tls-secret", "sandboxctl-system/tunnel-tls", "--tunnel-tls-client-certs", "Optional");
        var xds = Bind<XdsListenerOptions>(settings, XdsListenerOptions.Section).Tls;
        var tunnel = Bind<TunnelListenerOptions>(settings, TunnelListenerOptions.Section).Tls;
        var identity = Bind<ListenerTls.NodeIdentityOptions>(settings, XdsListenerOptions.Section);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, error);
            Assert.That((xds.CertFile, xds.KeyFile, xds.ClientCertificates, xds.ClientCaFile), Is.EqualTo(("/tls/xds.crt", "/tls/xds.key", ListenerTls.ClientCertificates.Required, "/tls/ca.crt")));
            Assert.That((tunnel.Secret, tunnel.ClientCertificates, tunnel.CertFile), Is.EqualTo(("sandboxctl-system/tunnel-tls", ListenerTls.ClientCertificates.Optional, (string?)null)));
            Assert.That(identity.TrustDomain, Is.EqualTo("example.org"));
            Assert.That(identity.Rules.Select(r => r.ToString()), Is.EqualTo(new[] { "gateway=edge/gw", "sidecar=*/*" }));
        });
    }

    [Test]
    public async Task Invoke_TokenReviewFlags_SetTheXdsTokenReviewKeys()
    {
        var (exit, settings, _, error) = await InvokeAsync("--kubernetes", "--xds-token-review", "required", "--xds-token-audience", "xds.example.org");
        var tokens = Bind<ListenerTls.NodeIdentityOptions>(settings, XdsListenerOptions.Section).TokenReview;

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero, error);
            Assert.That((tokens.Mode, tokens.Audience), Is.EqualTo((ListenerTls.TokenReviewMode.Required, "xds.example.org")));
            Assert.That(tokens.Validate(kubernetes: true), Is.Empty);
            Assert.That(tokens.Validate(kubernetes: false), Has.One.Contains("Xds:TokenReview:Mode (--xds-token-review) applies with --kubernetes only"), "the file and the environment cannot get around it");
        });
    }

    /// <summary>The options class <typeparamref name="T"/> as the host binds it from <paramref name="section"/>.</summary>
    private static T Bind<T>(IConfiguration? settings, string section)
        where T : new()
    {
        var options = new T();
        settings?.GetSection(section).Bind(options);
        return options;
    }

    private static string? DebugToken(IConfiguration? settings) => Bind<AdminEndpointOptions>(settings, AdminEndpointOptions.Section).DebugToken;

    private static async Task<(int Exit, IConfiguration? Settings, string Output, string Error)> InvokeAsync(params string[] args)
    {
        IConfiguration? seen = null;
        var command = ServerCommandLine.Build((settings, _) =>
        {
            seen = settings;
            return Task.FromResult(0);
        });
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await command.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, seen, output.ToString(), error.ToString());
    }
}
