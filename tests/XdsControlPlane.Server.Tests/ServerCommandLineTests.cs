using System.CommandLine;

namespace XdsControlPlane.Server.Tests;

/// <summary>Option parsing and validation, in process.</summary>
public sealed class ServerCommandLineTests
{
    [Test]
    public async Task Invoke_NoArguments_RunsWithDocumentedDefaults()
    {
        var (exit, options, _, _) = await InvokeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(options?.XdsPort, Is.EqualTo(18000));
            Assert.That(options?.AdminPort, Is.EqualTo(19000));
            Assert.That(options?.Loopback, Is.False);
            Assert.That(options?.LogFormat, Is.EqualTo(LogFormat.Plain));
            Assert.That(options?.MaxStreamAge, Is.EqualTo(TimeSpan.FromMinutes(30)));
            Assert.That(options?.MaxRequestBytes, Is.EqualTo(4 * 1024 * 1024));
        });
    }

    [Test]
    public async Task Invoke_AllOptions_AreParsed()
    {
        var (_, options, _, _) = await InvokeAsync("--xds-port", "0", "--admin-port", "9000", "--loopback", "--log-format", "json");

        Assert.That(
            (options?.XdsPort, options?.AdminPort, options?.Loopback, options?.LogFormat),
            Is.EqualTo(((int?)0, (int?)9000, (bool?)true, (LogFormat?)LogFormat.Json)));
    }

    [TestCase(new[] { "--xds-port", "70000" }, "--xds-port must be between 0 and 65535, got 70000.")]
    [TestCase(new[] { "--admin-port", "-1" }, "--admin-port must be between 0 and 65535, got -1.")]
    [TestCase(new[] { "--xds-port", "9000", "--admin-port", "9000" }, "--xds-port and --admin-port must differ, both are 9000.")]
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
    [TestCase(new[] { "--kubernetes", "--watch-namespace", "Shop_1" }, "--watch-namespace must be a namespace name (lower-case letters, digits and '-', at most 63), got 'Shop_1'.")]
    public async Task Invoke_InvalidOption_ExitsOneNamingTheOptionWithoutRunning(string[] args, string expectedError)
    {
        var (exit, options, _, error) = await InvokeAsync(args);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(options, Is.Null, "the host must not start");
            Assert.That(error, Does.Contain(expectedError));
        });
    }

    [Test]
    public async Task Invoke_WatchNamespace_RepeatedOrCommaSeparated()
    {
        var (exit, options, _, error) = await InvokeAsync("--kubernetes", "--watch-namespace", "shop,payments", "--watch-namespace", "shop", "--watch-namespace", "staging");

        Assert.That(exit, Is.Zero, error);
        Assert.That(options?.WatchNamespaces, Is.EqualTo(new[] { "shop", "payments", "staging" }));
    }

    [TestCase("90s", 90)]
    [TestCase("30m", 1800)]
    [TestCase("1h30m", 5400)]
    [TestCase("1500ms", 1.5)]
    public async Task Invoke_MaxStreamAge_AcceptsGoDurations(string text, double seconds)
    {
        var (_, options, _, _) = await InvokeAsync("--max-stream-age", text);

        Assert.That(options?.MaxStreamAge, Is.EqualTo(TimeSpan.FromSeconds(seconds)));
    }

    [TestCase("65536", 65536)]
    [TestCase("512Ki", 512 * 1024)]
    [TestCase("16Mi", 16 * 1024 * 1024)]
    [TestCase("1Gi", 1024 * 1024 * 1024)]
    public async Task Invoke_MaxRequestBytes_AcceptsBytesAndBinarySuffixes(string text, int bytes)
    {
        var (exit, options, _, error) = await InvokeAsync("--max-request-bytes", text);

        Assert.That((exit, options?.MaxRequestBytes), Is.EqualTo((0, (int?)bytes)), error);
    }

    [Test]
    public async Task Invoke_DebugToken_FromTheFlagElseTheEnvironment()
    {
        var before = Environment.GetEnvironmentVariable(ServerOptions.DebugTokenVariable);
        try
        {
            Environment.SetEnvironmentVariable(ServerOptions.DebugTokenVariable, null);
            var (_, none, _, _) = await InvokeAsync();
            var (_, flag, _, _) = await InvokeAsync("--debug-token", "from-the-flag-0123456789");
            Environment.SetEnvironmentVariable(ServerOptions.DebugTokenVariable, "from-the-environment-0123");
            var (_, environment, _, _) = await InvokeAsync();
            var (_, both, _, _) = await InvokeAsync("--debug-token", "from-the-flag-0123456789");
            Environment.SetEnvironmentVariable(ServerOptions.DebugTokenVariable, "short");
            var (exit, bad, _, error) = await InvokeAsync();

            Assert.Multiple(() =>
            {
                Assert.That(none?.DebugToken, Is.Null);
                Assert.That(flag?.DebugToken, Is.EqualTo("from-the-flag-0123456789"));
                Assert.That(environment?.DebugToken, Is.EqualTo("from-the-environment-0123"));
                Assert.That(both?.DebugToken, Is.EqualTo("from-the-flag-0123456789"), "the flag wins");
                Assert.That((exit, bad), Is.EqualTo((1, (ServerOptions?)null)));
                Assert.That(error, Does.Contain("XDSCP_DEBUG_TOKEN must be a bearer token of at least 16").And.Not.Contain("short"), "names the variable, never echoes the token");
            });
        }
        finally
        {
            Environment.SetEnvironmentVariable(ServerOptions.DebugTokenVariable, before);
        }
    }

    [Test]
    public async Task Invoke_Help_PrintsEveryOptionAndDoesNotRun()
    {
        var (exit, options, output, _) = await InvokeAsync("--help");

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(options, Is.Null);
            Assert.That(output, Does.Contain("--xds-port").And.Contain("--admin-port").And.Contain("--log-format").And.Contain("--loopback").And.Contain("--max-stream-age").And.Contain("--max-request-bytes").And.Contain("--debug-token"));
        });
    }

    private static async Task<(int Exit, ServerOptions? Options, string Output, string Error)> InvokeAsync(params string[] args)
    {
        ServerOptions? seen = null;
        var command = ServerCommandLine.Build((options, _) =>
        {
            seen = options;
            return Task.FromResult(0);
        });
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await command.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, seen, output.ToString(), error.ToString());
    }
}
