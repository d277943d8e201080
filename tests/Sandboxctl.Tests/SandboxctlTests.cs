using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Envoy.Config.Bootstrap.V3;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace Sandboxctl.Tests;

/// <summary>sandboxctl in-process and as a real process, against real files and a real server on loopback.</summary>
public sealed class SandboxctlTests
{
    private readonly HostLog _log = new();

    [SetUp]
    public void ForgetLog() => _log.Clear();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Render_Examples_MatchesTheServersDebugSnapshot()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer().WithLog(_log).WithManifests(RepoDirectory.Path("examples", "shop")).Create();
        await host.StartAsync(cancel.Token);
        await Eventually.WaitAsync(() => host.Snapshots.Groups.Count == 3, "the manifest source's first publication", Timeout);
        using var http = new HttpClient();
        var served = (await http.GetFromJsonAsync<JsonObject>(new Uri($"http://127.0.0.1:{host.AdminPort}/debug/snapshot"), cancel.Token))!;

        var (code, stdout, stderr) = await RunAsync("render", "-f", RepoDirectory.Path("examples", "shop"), "-o", "json");

        var rendered = JsonNode.Parse(stdout)!;
        foreach (var group in served["groups"]!.AsObject())
        {
            group.Value!.AsObject().Remove("publishedAt");
        }

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stderr, Is.Empty);
            Assert.That(rendered["groups"]!.AsObject().Select(g => g.Key), Is.EqualTo(new[] { "gateway", "grpc", "sidecar" }));
            Assert.That(JsonNode.DeepEquals(rendered, served), Is.True, "render and /debug/snapshot differ");
        });
        await host.StopAsync(cancel.Token);
    }

    private const string BrokenWeights = """
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: broken, namespace: shop}
        spec:
          routes:
          - service: cart
            to: [{service: cart-feature-x, weight: 50}, {service: cart, weight: 20}]
        """;

    [TestCase(BrokenWeights, "broken.yaml:1 (document 0): RouteGroup shop/broken: spec.routes[0].to: weights must sum to 100, got 70")]
    [TestCase("a: {b: c\nd: e\n", "broken.yaml (document 0): not valid YAML")]
    [TestCase("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n", "aliases would expand this file by more than 100000 nodes")]
    [TestCase("a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n", "broken.yaml:1 (document 0): not valid YAML: mappings and sequences are nested deeper than 64 levels")]
    public async Task Render_BadFile_ExitsOneNamingItAndStillPrintsTheRest(string text, string expected)
    {
        var directory = Directory.CreateTempSubdirectory("sandboxctl-render-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(RepoDirectory.Path("examples", "shop")))
            {
                File.Copy(file, Path.Combine(directory, Path.GetFileName(file)));
            }

            await File.WriteAllTextAsync(Path.Combine(directory, "broken.yaml"), text);

            var (code, stdout, stderr) = await RunAsync("render", "-f", directory, "--role", "gateway");

            Assert.Multiple(() =>
            {
                Assert.That(code, Is.EqualTo(ExitCodes.UserError));
                Assert.That(stderr, Does.Contain("broken.yaml").And.Contain(expected));
                Assert.That(JsonNode.Parse(stdout)!["groups"]!["gateway"]!["resources"]!["RDS"]!.AsObject().Select(r => r.Key), Does.Contain("gateway-http"), "the valid files are still rendered");
                Assert.That(stdout, Does.Contain("cart-feature-x"), "including the example's RouteGroups");
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task Render_MissingPath_ExitsOneWithHint()
    {
        var (code, _, stderr) = await RunAsync("render", "-f", "/no/such/manifests");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.StartWith("error: /no/such/manifests does not exist.").And.Contain("hint:"));
        });
    }

    [TestCase("gateway")]
    [TestCase("sidecar")]
    public async Task Bootstrap_Role_ParsesAsValidEnvoyBootstrapWithTheGivenValues(string role)
    {
        var (code, stdout, stderr) = await RunAsync("bootstrap", "--role", role, "--xds-address", "10.0.0.5:18001", "--node-id", "pod-1.shop", "--zone", "eu-west-1a");

        var bootstrap = EnvoyTypeCatalog.JsonParser.Parse<Bootstrap>(YamlJson.Convert(stdout)!.ToJsonString());
        var address = bootstrap.StaticResources.Clusters.Single().LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(EnvoyRulesValidator.Default.Validate(bootstrap).Violations, Is.Empty);
            Assert.That((bootstrap.Node.Id, bootstrap.Node.Locality.Zone, bootstrap.Node.Metadata.Fields["sandboxctl.io/role"].StringValue), Is.EqualTo(("pod-1.shop", "eu-west-1a", role)));
            Assert.That((address.Address, address.PortValue), Is.EqualTo(("10.0.0.5", 18001u)));
            Assert.That(stdout, Does.Contain("# "), "the shipped file's comments are kept");
        });
    }

    [Test]
    public async Task Bootstrap_TlsFlags_EnvoyGetsAnUpstreamTlsContext_AndGrpcGetsTlsChannelCredentials()
    {
        string[] tls = ["--xds-ca-file", "/etc/xds/ca.crt", "--xds-cert-file", "/etc/xds/tls.crt", "--xds-key-file", "/etc/xds/tls.key"];
        var (envoyCode, envoyOut, envoyErr) = await RunAsync(["bootstrap", "--role", "sidecar", "--xds-address", "xds.example:18000", .. tls]);
        var (grpcCode, grpcOut, grpcErr) = await RunAsync(["bootstrap", "--role", "grpc", "--xds-address", "xds.example:18000", .. tls]);
        var (halfCode, _, halfErr) = await RunAsync("bootstrap", "--role", "grpc", "--xds-cert-file", "/etc/xds/tls.crt");

        var bootstrap = EnvoyTypeCatalog.JsonParser.Parse<Bootstrap>(YamlJson.Convert(envoyOut)!.ToJsonString());
        var upstream = bootstrap.StaticResources.Clusters.Single().TransportSocket.TypedConfig.Unpack<global::Envoy.Extensions.TransportSockets.Tls.V3.UpstreamTlsContext>();
        var grpc = System.Text.Json.Nodes.JsonNode.Parse(grpcOut)!;
        Assert.Multiple(() =>
        {
            Assert.That((envoyCode, grpcCode), Is.EqualTo((ExitCodes.Ok, ExitCodes.Ok)), envoyErr + grpcErr);
            Assert.That(EnvoyRulesValidator.Default.Validate(bootstrap).Violations, Is.Empty);
            Assert.That((upstream.Sni, upstream.CommonTlsContext.ValidationContext.TrustedCa.Filename), Is.EqualTo(("xds.example", "/etc/xds/ca.crt")));
            Assert.That(upstream.CommonTlsContext.TlsCertificates.Single().PrivateKey.Filename, Is.EqualTo("/etc/xds/tls.key"));
            Assert.That((string?)grpc["xds_servers"]![0]!["server_uri"], Is.EqualTo("xds.example:18000"));
            Assert.That((string?)grpc["xds_servers"]![0]!["channel_creds"]![0]!["type"], Is.EqualTo("tls"));
            Assert.That((string?)grpc["xds_servers"]![0]!["channel_creds"]![0]!["config"]!["certificate_file"], Is.EqualTo("/etc/xds/tls.crt"));
            Assert.That((string?)grpc["node"]!["metadata"]!["sandboxctl.io/role"], Is.EqualTo("grpc"));
            Assert.That(halfCode, Is.EqualTo(ExitCodes.UserError));
            Assert.That(halfErr, Does.Contain("--xds-cert-file and --xds-key-file go together"));
        });
    }

    [Test]
    public async Task Bootstrap_XdsTokenFile_EnvoySendsTheProjectedTokenOverTlsWithEveryXdsStream()
    {
        var (code, stdout, stderr) = await RunAsync(
            "bootstrap", "--role", "sidecar", "--xds-address", "xds.example:18000", "--xds-ca-file", "/etc/xds/ca.crt",
            "--xds-server-name", "xds-control-plane.sandboxctl-system.svc", "--xds-token-file", "/var/run/secrets/sandboxctl/xds-token/token");
        var (plainCode, _, plainErr) = await RunAsync("bootstrap", "--role", "sidecar", "--xds-token-file", "/var/run/secrets/sandboxctl/xds-token/token");
        var (grpcCode, _, grpcErr) = await RunAsync("bootstrap", "--role", "grpc", "--xds-ca-file", "/etc/xds/ca.crt", "--xds-token-file", "/token");

        var bootstrap = EnvoyTypeCatalog.JsonParser.Parse<Bootstrap>(YamlJson.Convert(stdout)!.ToJsonString());
        var google = bootstrap.DynamicResources.AdsConfig.GrpcServices.Single().GoogleGrpc;
        var plugin = google.CallCredentials.Single().FromPlugin;
        var metadata = plugin.TypedConfig.Unpack<global::Envoy.Config.GrpcCredential.V3.FileBasedMetadataConfig>();
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(EnvoyRulesValidator.Default.Validate(bootstrap).Violations, Is.Empty);
            Assert.That((google.TargetUri, google.CredentialsFactoryName, plugin.Name), Is.EqualTo(("xds.example:18000", "envoy.grpc_credentials.file_based_metadata", "envoy.grpc_credentials.file_based_metadata")));
            Assert.That((metadata.SecretData.Filename, metadata.HeaderKey, metadata.HeaderPrefix), Is.EqualTo(("/var/run/secrets/sandboxctl/xds-token/token", "", "Bearer ")), "authorization: Bearer <the file>");
            Assert.That(google.ChannelCredentials.SslCredentials.RootCerts.Filename, Is.EqualTo("/etc/xds/ca.crt"), "call credentials ride on TLS only");
            Assert.That(google.ChannelArgs.Args["grpc.ssl_target_name_override"].StringValue, Is.EqualTo("xds-control-plane.sandboxctl-system.svc"));
            Assert.That(bootstrap.StaticResources.Clusters.Single().TransportSocket, Is.Not.Null, "the preview authorization filter still reaches the control plane through its TLS cluster");
            Assert.That((plainCode, grpcCode), Is.EqualTo((ExitCodes.UserError, ExitCodes.UserError)));
            Assert.That(plainErr, Does.Contain("--xds-token-file need --xds-ca-file"));
            Assert.That(grpcErr, Does.Contain("--xds-token-file applies to Envoy bootstraps (gateway, sidecar) only."));
        });
    }

    [TestCase("[::1]:18000", "::1", 18000u, "V6Only")]
    [TestCase("[fd00::2]:443", "fd00::2", 443u, "V6Only")]
    [TestCase("xds-control-plane.sandboxctl-system:18000", "xds-control-plane.sandboxctl-system", 18000u, "V4Preferred")]
    public async Task Bootstrap_XdsAddress_IsWrittenAsAValidSocketAddress(string xdsAddress, string host, uint port, string dnsLookupFamily)
    {
        var (code, stdout, stderr) = await RunAsync("bootstrap", "--role", "gateway", "--xds-address", xdsAddress);

        Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
        var bootstrap = EnvoyTypeCatalog.JsonParser.Parse<Bootstrap>(YamlJson.Convert(stdout)!.ToJsonString());
        var cluster = bootstrap.StaticResources.Clusters.Single();
        var address = cluster.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress;
        Assert.Multiple(() =>
        {
            Assert.That(EnvoyRulesValidator.Default.Validate(bootstrap).Violations, Is.Empty);
            Assert.That((address.Address, address.PortValue), Is.EqualTo((host, port)));
            Assert.That(cluster.DnsLookupFamily.ToString(), Is.EqualTo(dnsLookupFamily));
        });
    }

    [TestCase("--xds-address", "no-port", "--xds-address must be host:port")]
    [TestCase("--xds-address", "::1:18000", "--xds-address must be host:port with a port from 1 to 65535 (an IPv6 address in brackets, as [::1]:18000), got '::1:18000'.")]
    [TestCase("--xds-address", "[::1]", "--xds-address must be host:port")]
    [TestCase("--xds-address", "[not-v6]:18000", "--xds-address must be host:port")]
    [TestCase("--xds-address", "[1.2.3.4]:18000", "--xds-address must be host:port")]
    [TestCase("--xds-address", "host:0", "--xds-address must be host:port")]
    [TestCase("--xds-address", "host:65536", "--xds-address must be host:port")]
    [TestCase("--xds-address", "host :18000", "--xds-address must be host:port")]
    [TestCase("--role", "mesh", "mesh")]
    public async Task Bootstrap_BadArgument_ExitsOneNamingIt(string option, string value, string expected)
    {
        string[] args = option == "--role" ? ["bootstrap", "--role", value] : ["bootstrap", "--role", "gateway", option, value];
        var (code, stdout, stderr) = await RunAsync(args);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain(expected));
            Assert.That(stdout, Does.Not.Contain("static_resources"));
        });
    }

    [Test]
    public async Task Proxies_OneAckingOneNackingClient_ShowsBothStates()
    {
        _log.Expect("rejected \"type.googleapis.com/envoy.config.cluster.v3.Cluster\"");   // the NACK this test sends
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer().WithLog(_log).WithManifests(RepoDirectory.Path("examples", "shop")).Create();
        await host.StartAsync(cancel.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        using var good = await ConnectAsync(channel, "envoy-good", "gateway", nack: null, cancel.Token);
        using var bad = await ConnectAsync(channel, "envoy-bad", "sidecar", nack: "cluster outbound|8080: unknown field", cancel.Token);
        await Eventually.WaitAsync(() => host.Clients.Clients.Count(c => c.Types.Any(t => t.AckedVersion is not null || t.LastNack is not null)) == 2, "both clients to answer", Timeout);

        var (code, stdout, stderr) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{host.XdsPort}", "--no-color");
        var (jsonCode, json, _) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{host.XdsPort}", "-o", "json");

        var proxies = JsonNode.Parse(json)!.AsArray();
        Assert.Multiple(() =>
        {
            Assert.That((code, jsonCode), Is.EqualTo((ExitCodes.Ok, ExitCodes.Ok)), stderr);
            Assert.That(stdout, Does.Contain("envoy-good").And.Contain("SYNCED"));
            Assert.That(stdout, Does.Contain("envoy-bad").And.Contain("NACKED"));
            Assert.That(stdout, Does.Contain("envoy-bad CDS NACKed version").And.Contain("cluster outbound|8080: unknown field"));
            Assert.That((string?)proxies.Single(p => (string?)p!["node"] == "envoy-good")!["types"]!["CDS"]!["status"], Is.EqualTo("SYNCED"));
            Assert.That((string?)proxies.Single(p => (string?)p!["node"] == "envoy-bad")!["types"]!["CDS"]!["error"], Is.EqualTo("cluster outbound|8080: unknown field"));
            Assert.That((string?)proxies.Single(p => (string?)p!["node"] == "envoy-bad")!["role"], Is.EqualTo("sidecar"));
        });

        // The client side closes first, as a real client does on GOAWAY; an open call would hold the host's shutdown for its full timeout.
        good.Dispose();
        bad.Dispose();
        await host.StopAsync(cancel.Token);
    }

    /// <summary>One client's 5 MB NACK message used to make the CSDS answer too large for every user of <c>proxies</c>.</summary>
    [Test]
    public async Task Proxies_OneClientNackedWithFiveMegabytes_ShowsEveryClientWithTheErrorCapped()
    {
        _log.Expect("rejected \"type.googleapis.com/envoy.config.cluster.v3.Cluster\"");   // the NACK this test sends
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer().WithLog(_log).WithManifests(RepoDirectory.Path("examples", "shop")).With("Xds:MaxRequestBytes", 8 * 1024 * 1024).Create();
        await host.StartAsync(cancel.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        using var good = await ConnectAsync(channel, "envoy-good", "gateway", nack: null, cancel.Token);
        using var huge = await ConnectAsync(channel, "envoy-huge", "sidecar", nack: "cluster outbound|8080: " + new string('x', 5_000_000), cancel.Token);
        await Eventually.WaitAsync(() => host.Clients.Clients.Count(c => c.Types.Any(t => t.AckedVersion is not null || t.LastNack is not null)) == 2, "both clients to answer", Timeout);

        var (code, stdout, stderr) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{host.XdsPort}", "--no-color");
        var (jsonCode, json, _) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{host.XdsPort}", "-o", "json");

        var nackLine = stdout.Split('\n').Single(l => l.StartsWith("envoy-huge CDS NACKed", StringComparison.Ordinal));
        var error = (string?)JsonNode.Parse(json)!.AsArray().Single(p => (string?)p!["node"] == "envoy-huge")!["types"]!["CDS"]!["error"];
        Assert.Multiple(() =>
        {
            // Lengths first and short excerpts only: a failure must not print five megabytes.
            Assert.That((code, jsonCode), Is.EqualTo((ExitCodes.Ok, ExitCodes.Ok)), stderr[..Math.Min(stderr.Length, 500)]);
            Assert.That(stdout.Length, Is.LessThan(10_000), "the output carries at most 4 KiB of the client's text");
            Assert.That(stdout, Does.Contain("envoy-good").And.Contain("SYNCED").And.Contain("envoy-huge").And.Contain("NACKED"));
            Assert.That(nackLine[..100], Does.Contain("cluster outbound|8080: xxx"));
            Assert.That(nackLine[^1], Is.EqualTo('…'), "the cut is marked");
            Assert.That(error?.Length, Is.EqualTo(ClientText.MaxMessageLength + 1));
            Assert.That(error?[..30], Is.EqualTo("cluster outbound|8080: xxxxxxx"));
        });
        good.Dispose();
        huge.Dispose();
        await host.StopAsync(cancel.Token);
    }

    /// <summary>Terminal injection (as kubectl's CVE-2021-25743): a client's escape sequences and line breaks are printed defused.</summary>
    [Test]
    public async Task Proxies_HostileNodeIdAndNack_TableAndNackLinesHaveNoEscapesOrLineBreaks()
    {
        _log.Expect("rejected \"type.googleapis.com/envoy.config.cluster.v3.Cluster\"");   // the NACK this test sends
        const string forged = "a\u001b[31m\r\n[12:00:00 INF] forged";
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer().WithLog(_log).WithManifests(RepoDirectory.Path("examples", "shop")).Create();
        await host.StartAsync(cancel.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        using var hostile = await ConnectAsync(channel, forged, "sidecar", nack: "bad\u001b]0;owned\u0007\r\n[12:00:00 INF] forged nack", cancel.Token, node => node.Cluster = forged);
        await Eventually.WaitAsync(() => host.Clients.Clients.Any(c => c.Types.Any(t => t.LastNack is not null)), "the NACK", Timeout);

        var (code, stdout, stderr) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{host.XdsPort}", "--no-color");
        var (_, yaml, _) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{host.XdsPort}", "-o", "yaml");

        AssertDefused(code, stdout, stderr, yaml);
        hostile.Dispose();
        await host.StopAsync(cancel.Token);
    }

    /// <summary>The CLI defuses client text itself, whatever the server passes on (an older or foreign control plane).</summary>
    [Test]
    public async Task Proxies_ServerPassingRawClientText_TableAndNackLinesHaveNoEscapesOrLineBreaks()
    {
        const string forged = "a\u001b[31m\r\n[12:00:00 INF] forged";
        var raw = new Envoy.Service.Status.V3.ClientStatusResponse
        {
            Config =
            {
                new Envoy.Service.Status.V3.ClientConfig
                {
                    Node = new Node { Id = forged, Cluster = forged, UserAgentName = forged, Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString(forged) } } },
                    GenericXdsConfigs =
                    {
                        new Envoy.Service.Status.V3.ClientConfig.Types.GenericXdsConfig
                        {
                            TypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster",
                            Name = "c",
                            ClientStatus = Envoy.Admin.V3.ClientResourceStatus.Nacked,
                            ErrorState = new Envoy.Admin.V3.UpdateFailureState { VersionInfo = "v" + forged, Details = "bad\u001b]0;owned\u0007\r\n[12:00:00 INF] forged nack" },
                        },
                    },
                },
            },
        };
        await using var csds = await RawCsdsServer.StartAsync(raw);

        var (code, stdout, stderr) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{csds.Port}", "--no-color");
        var (_, yaml, _) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{csds.Port}", "-o", "yaml");

        AssertDefused(code, stdout, stderr, yaml);
    }

    [TestCase("host", "--xds-address must be host:port with a port from 1 to 65535 (an IPv6 address in brackets, as [::1]:18000), got 'host'.")]
    [TestCase("::1", "--xds-address must be host:port")]
    [TestCase("localhost:99999", "--xds-address must be host:port")]
    [TestCase("ftp://host:21", "--xds-address must be host:port, [IPv6]:port or an http:// or https:// URI, got 'ftp://host:21'.")]
    public async Task Proxies_BadXdsAddress_ExitsOneNamingTheFlag(string xdsAddress, string expected)
    {
        var (code, _, stderr) = await RunAsync("proxies", "--xds-address", xdsAddress, "--timeout", "00:00:05");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.StartWith("error: " + expected).And.Contain("hint: "));
        });
    }

    [TestCase("[::1]:1", "[::1]:1")]
    [TestCase("http://127.0.0.1:1", "http://127.0.0.1:1")]
    public async Task Proxies_BracketedIPv6OrUri_IsDialled(string xdsAddress, string shown)
    {
        var (code, _, stderr) = await RunAsync("proxies", "--xds-address", xdsAddress, "--timeout", "00:00:05");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.ConnectionError), "accepted as an address, then nothing listens there");
            Assert.That(stderr, Does.StartWith($"error: cannot get proxy status from {shown}: Unavailable"));
        });
    }

    [TestCase("9999999999999h")]
    [TestCase("10675199.02:48:05")]
    [TestCase("-5s")]
    public async Task Proxies_TimeoutOutOfRange_ExitsOneNamingTheFlag(string value)
    {
        var (code, _, stderr) = await RunAsync("proxies", "--xds-address", "127.0.0.1:1", "--timeout", value);

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.UserError));
            Assert.That(stderr, Does.Contain($"--timeout must be a duration from 1ms to 24h such as 30s or 2m or 00:02:00, got '{value}'."));
        });
    }

    [Test]
    public async Task Proxies_NothingListening_ExitsTwoWithHint()
    {
        var (code, _, stderr) = await RunAsync("proxies", "--xds-address", "127.0.0.1:1", "--timeout", "00:00:05");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.ConnectionError));
            Assert.That(stderr, Does.StartWith("error: cannot get proxy status from 127.0.0.1:1").And.Contain("hint: Check --xds-address"));
        });
    }

    [Test]
    public async Task RealProcess_RenderAndVersion_ExitCodesAndOutput()
    {
        var (renderCode, renderOut, _) = await CliHarness.RunProcessAsync("render", "-f", RepoDirectory.Path("examples", "shop"), "--role", "grpc");
        var (versionCode, versionOut, _) = await CliHarness.RunProcessAsync("--version");
        var (badCode, _, badErr) = await CliHarness.RunProcessAsync("render");

        Assert.Multiple(() =>
        {
            Assert.That(renderCode, Is.EqualTo(0));
            Assert.That(JsonNode.Parse(renderOut)!["groups"]!["grpc"]!["resources"]!["LDS"]!["checkout.shop:9090"], Is.Not.Null);
            Assert.That(versionCode, Is.EqualTo(0));
            Assert.That(versionOut, Does.StartWith("0.1.0"));
            Assert.That(badCode, Is.EqualTo(1));
            Assert.That(badErr, Does.Contain("--filename"));
        });
    }

    [Test]
    public async Task SuggestDirective_ListsCommandsForShellCompletion()
    {
        var (code, stdout, _) = await RunAsync("[suggest]");

        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok));
            Assert.That(stdout.Split('\n', StringSplitOptions.TrimEntries), Is.SupersetOf(new[] { "render", "bootstrap", "proxies", "--output" }));
        });
    }

    [TestCase("sandboxctl rou", new[] { "routegroup" })]
    [TestCase("sandboxctl routegroup a", new[] { "apply" })]
    [TestCase("sandboxctl bootstrap --ro", new[] { "--role" })]
    [TestCase("sandboxctl prev", new[] { "preview" })]
    [TestCase("sandboxctl preview o", new[] { "open" })]
    [TestCase("sandboxctl preview open --no-b", new[] { "--no-browser" })]
    public async Task CompletionBash_RealBashCompletesThroughTheInstalledCommand(string line, string[] expected)
    {
        if (OperatingSystem.IsWindows())
        {
            Prerequisite.Missing("bash completion is checked on Linux and macOS");
            return;
        }

        var (code, script, _) = await RunAsync("completion", "bash");
        Assert.That(code, Is.EqualTo(ExitCodes.Ok));

        // Run the script in a real bash, with "sandboxctl" on PATH being this build, as a shell would on TAB.
        var bin = Directory.CreateTempSubdirectory("sandboxctl-completion-");
        try
        {
            var shim = Path.Combine(bin.FullName, "sandboxctl");
            await File.WriteAllTextAsync(shim, $"#!/bin/sh\nexec dotnet \"{Path.Combine(AppContext.BaseDirectory, "sandboxctl.dll")}\" \"$@\"\n");
            File.SetUnixFileMode(shim, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            await File.WriteAllTextAsync(Path.Combine(bin.FullName, "completion.bash"), script);
            var words = line.Split(' ');
            var start = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($$"""
                source "{{bin.FullName}}/completion.bash"
                COMP_LINE='{{line}}'; COMP_POINT={{line.Length}}; COMP_WORDS=({{string.Join(' ', words.Select(w => $"'{w}'"))}}); COMP_CWORD={{words.Length - 1}}
                _sandboxctl_complete
                printf '%s\n' "${COMPREPLY[@]}"
                """);
            start.Environment["PATH"] = bin.FullName + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
            using var bash = System.Diagnostics.Process.Start(start)!;
            var completions = await bash.StandardOutput.ReadToEndAsync();
            var errors = await bash.StandardError.ReadToEndAsync();
            await bash.WaitForExitAsync();

            Assert.That(completions.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(expected), errors);
        }
        finally
        {
            bin.Delete(recursive: true);
        }
    }

    [TestCase("zsh", "compdef _sandboxctl sandboxctl")]
    [TestCase("pwsh", "Register-ArgumentCompleter -Native -CommandName sandboxctl")]
    public async Task Completion_OtherShells_PrintTheirScript(string shell, string expected)
    {
        var (code, stdout, _) = await RunAsync("completion", shell);

        Assert.That((code, stdout.Contains(expected, StringComparison.Ordinal)), Is.EqualTo((ExitCodes.Ok, true)), stdout);
    }

    /// <summary>What a real client says it is, from its own node (the processes of tests/node and tests/python).</summary>
    [TestCase(XdsClientKind.GrpcJs, "gRPC Node Pure JS", "1.14.1")]
    [TestCase(XdsClientKind.GrpcCore, "gRPC C-core linux Python", "C-core 29.0.0 Python 1.51.1")]
    public async Task Proxies_RealGrpcClient_ShowsItsNameAndVersion(XdsClientKind kind, string name, string version)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer().WithLog(_log).WithManifests(RepoDirectory.Path("examples", "shop")).Create();
        await host.StartAsync(cancel.Token);
        await using var client = await XdsClientHarness.StartAsync(kind, host.XdsPort, "real-1", "grpc", "shop", "unused");
        var calls = await client.CallAsync("xds:///checkout.shop:9090", 1);
        await Eventually.WaitAsync(() => host.Clients.Clients.Any(c => c.Node.Id == "real-1" && c.Types.Any(t => t.AckedVersion is not null)), "the real client's ACK", Timeout);

        var (code, stdout, stderr) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{host.XdsPort}", "--no-color");
        var (_, json, _) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{host.XdsPort}", "-o", "json");

        var proxy = JsonNode.Parse(json)!.AsArray().Single(p => (string?)p!["node"] == "real-1")!;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stdout, Does.Contain("CLIENT").And.Contain("real-1"));
            Assert.That(((string?)proxy["client"]!["name"], (string?)proxy["client"]!["version"]), Is.EqualTo((name, version)), $"calls: {string.Join(", ", calls.Errors)}");
            Assert.That(proxy["clientFeatures"]!.AsArray().Select(f => (string?)f), Does.Contain("envoy.lb.does_not_support_overprovisioning"));
        });
        await host.StopAsync(cancel.Token);
    }

    /// <summary>
    /// Envoy reports its version as <c>user_agent_build_version</c> (a SemanticVersion), not as text
    /// (Envoy docs, config.core.v3.Node). Client text with escape sequences and line breaks is printed defused.
    /// </summary>
    [Test]
    public async Task Proxies_EnvoyBuildVersionAndHostileUserAgent_ShownSafely()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = new InProcessServer().WithLog(_log).WithManifests(RepoDirectory.Path("examples", "shop")).Create();
        await host.StartAsync(cancel.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        using var envoy = await ConnectAsync(channel, "envoy-1", "gateway", nack: null, cancel.Token, node =>
        {
            node.UserAgentName = "envoy";
            node.UserAgentBuildVersion = new BuildVersion { Version = new Envoy.Type.V3.SemanticVersion { MajorNumber = 1, MinorNumber = 31, Patch = 2 } };
        });
        using var hostile = await ConnectAsync(channel, "odd-1", "sidecar", nack: null, cancel.Token, node =>
        {
            node.UserAgentName = "evil\u001b[2J\r\n[12:00:00 INF] forged";
            node.UserAgentVersion = new string('9', 500);
        });
        await Eventually.WaitAsync(() => host.Clients.Clients.Count(c => c.Types.Any(t => t.AckedVersion is not null)) == 2, "both clients' ACKs", Timeout);

        var (code, stdout, stderr) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{host.XdsPort}", "--no-color");
        var (_, json, _) = await RunAsync("proxies", "--xds-address", $"127.0.0.1:{host.XdsPort}", "-o", "json");

        var proxies = JsonNode.Parse(json)!.AsArray();
        var odd = proxies.Single(p => (string?)p!["node"] == "odd-1")!["client"]!;
        Assert.Multiple(() =>
        {
            Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
            Assert.That(stdout, Does.Contain("envoy 1.31.2"));
            Assert.That(stdout, Does.Not.Contain("\u001b").And.Not.Contain("\r"));
            Assert.That((string?)proxies.Single(p => (string?)p!["node"] == "envoy-1")!["client"]!["version"], Is.EqualTo("1.31.2"));
            Assert.That((string?)odd["name"], Is.EqualTo("evil?[2J??[12:00:00 INF] forged"));
            Assert.That((string?)odd["version"], Has.Length.EqualTo(65).And.EndsWith("…"));
        });
        envoy.Dispose();
        hostile.Dispose();
        await host.StopAsync(cancel.Token);
    }

    private static void AssertDefused(int code, string stdout, string stderr, string yaml) => Assert.Multiple(() =>
    {
        Assert.That(code, Is.EqualTo(ExitCodes.Ok), stderr);
        Assert.That(stdout, Does.Not.Contain("\u001b").And.Not.Contain("\r").And.Not.Contain("\u0007"));
        Assert.That(stdout.Split('\n').Where(line => line.StartsWith("[12:00:00", StringComparison.Ordinal)), Is.Empty, "no line begins with the client's forged text");
        Assert.That(stdout, Does.Contain("a?[31m??[12:00:00 INF] forged CDS NACKed version"), "the NACK line names the node, defused");
        Assert.That(stdout, Does.Contain(": bad?]0;owned?  [12:00:00 INF] forged nack"), "the NACK text is on its line, defused");
        Assert.That(yaml, Does.Not.Contain("\u001b").And.Not.Contain("\\e").And.Not.Contain("\\u001B").And.Not.Contain("\\x1B"), "YAML carries no escape either, raw or quoted");
    });

    private static async Task<Grpc.Core.AsyncDuplexStreamingCall<DiscoveryRequest, DiscoveryResponse>> ConnectAsync(GrpcChannel channel, string nodeId, string role, string? nack, CancellationToken cancellationToken, Action<Node>? describe = null)
    {
        var call = new AggregatedDiscoveryService.AggregatedDiscoveryServiceClient(channel).StreamAggregatedResources(cancellationToken: cancellationToken);
        var node = new Node { Id = nodeId, Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString(role) } } };
        describe?.Invoke(node);
        const string clusters = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
        await call.RequestStream.WriteAsync(new DiscoveryRequest { Node = node, TypeUrl = clusters }, cancellationToken);
        Assert.That(await call.ResponseStream.MoveNext(cancellationToken), Is.True);
        var response = call.ResponseStream.Current;
        var answer = new DiscoveryRequest { TypeUrl = clusters, ResponseNonce = response.Nonce, VersionInfo = nack is null ? response.VersionInfo : "" };
        if (nack is not null)
        {
            answer.ErrorDetail = new Google.Rpc.Status { Code = 3, Message = nack };
        }

        await call.RequestStream.WriteAsync(answer, cancellationToken);
        return call;
    }

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => CliHarness.RunInProcessAsync(args);
}
