using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Envoy.Config.Bootstrap.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Grpc.Net.Client;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Options;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Kubernetes.Admission.Injection;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Kubernetes.Tests.Admission;

/// <summary>
/// The injector with <c>--inject-xds-ca-file</c>: the injected proxy's bootstrap reaches a TLS xDS listener. The
/// bootstrap is taken from the patched pod as the kubelet would start Envoy with it, and its control-plane cluster's
/// UpstreamTlsContext (the CA written in, SNI, the SAN to match, ALPN) drives a real TLS client against the server's
/// xDS listener serving a certificate of an intermediate CA; it is served as a sidecar.
/// </summary>
public sealed class InjectedProxyTlsTests
{
    private readonly HostLog _log = new();
    private string _directory = "";

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("xdscp-inject-tls-").FullName;

    [TearDown]
    public void Clean()
    {
        Directory.Delete(_directory, recursive: true);
        _log.AssertNoUnexpectedWarnings();
        _log.Clear();
    }

    [Test]
    public async Task InjectedBootstrap_WithTheXdsCa_ReachesTheTlsListener_TrustingOnlyTheCaWrittenIn()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var root = new TestCertificateAuthority("mesh root CA");
        using var issuer = root.Intermediate("xds issuing CA");
        var server = issuer.Server();
        await File.WriteAllTextAsync(Path.Combine(_directory, "ca.crt"), root.CaPem, cancel.Token);
        await File.WriteAllTextAsync(Path.Combine(_directory, "tls.crt"), server.ChainPem, cancel.Token);
        await File.WriteAllTextAsync(Path.Combine(_directory, "tls.key"), server.KeyPem, cancel.Token);
        var manifests = Directory.CreateDirectory(Path.Combine(_directory, "manifests")).FullName;
        await using var host = await new InProcessServer().WithManifests(manifests).WithLog(_log)
            .With("Xds:Tls:CertFile", Path.Combine(_directory, "tls.crt"))
            .With("Xds:Tls:KeyFile", Path.Combine(_directory, "tls.key"))
            .StartAsync(cancel.Token);

        var tls = InjectedTls(new SidecarInjectionOptions { XdsAddress = $"localhost:{host.XdsPort}", XdsCaFile = Path.Combine(_directory, "ca.crt"), NativeSidecar = NativeSidecarMode.Always });
        using var channel = ChannelAsEnvoyWould(host.XdsPort, tls);
        var clusters = await TlsAdsClient.FirstClustersAsync(channel, "sidecar", cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(tls.CommonTlsContext.ValidationContext.TrustedCa.InlineString, Is.EqualTo(root.CaPem), "the CA file's content is written into the bootstrap");
            Assert.That(tls.Sni, Is.EqualTo("localhost"), "the xDS address's host is sent as SNI");
            Assert.That(tls.CommonTlsContext.ValidationContext.MatchTypedSubjectAltNames.Single().Matcher.Exact, Is.EqualTo("localhost"));
            Assert.That(tls.CommonTlsContext.AlpnProtocols, Is.EqualTo(new[] { "h2" }));
            Assert.That(clusters.TypeUrl, Is.EqualTo(XdsControlPlane.Xds.Resources.TypeUrls.Cluster), "served over TLS as a sidecar");
        });
    }

    [Test]
    public void XdsCaFileThatIsNoCertificate_IsAProblemNamingTheOption()
    {
        var file = Path.Combine(_directory, "ca.crt");
        File.WriteAllText(file, "not a certificate");
        var problems = new SidecarInjectionOptions { XdsCaFile = file }.Validate().ToArray();
        var missing = new SidecarInjectionOptions { XdsCaFile = Path.Combine(_directory, "absent.crt") }.Validate().ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(problems, Has.Some.StartsWith("Injection:XdsCaFile must be a readable PEM file of CA certificates").And.Some.Contains("holds no PEM certificate"));
            Assert.That(missing, Has.Some.StartsWith("Injection:XdsCaFile must be a readable PEM file of CA certificates"));
            Assert.That(new SidecarInjectionOptions().Validate(), Is.Empty, "without a CA file the injected proxies speak plaintext, as before");
        });
    }

    /// <summary>The UpstreamTlsContext of the control plane's cluster in the bootstrap a pod injected with <paramref name="options"/> starts Envoy with.</summary>
    private static UpstreamTlsContext InjectedTls(SidecarInjectionOptions options)
    {
        var injector = new PodSidecarInjector(Options.Create(options));
        var review = PodAdmission.Review("deployment-pod.json");
        var patched = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(PodAdmission.Pod(review), injector.Review(PodAdmission.Subject(review)).Patch!).ToJsonString());
        var json = patched.Spec.InitContainers.Single(c => c.Name == PodSidecarInjector.ProxyContainerName).Args[1]
            .Replace("$(POD_NAME)", "cart-1", StringComparison.Ordinal).Replace("$(POD_NAMESPACE)", "shop", StringComparison.Ordinal);
        var bootstrap = new JsonParser(JsonParser.Settings.Default.WithTypeRegistry(EnvoyTypeCatalog.Registry)).Parse<Bootstrap>(json);
        var validation = EnvoyBootstrapRenderer.Validate(bootstrap);
        Assert.That(validation.IsValid, Is.True, string.Join("; ", validation.Violations));
        var cluster = bootstrap.StaticResources.Clusters.Single(c => c.Name == EnvoyBootstrapRenderer.ControlPlaneCluster);
        return cluster.TransportSocket.TypedConfig.Unpack<UpstreamTlsContext>();
    }

    /// <summary>A TLS client set up only from <paramref name="tls"/>, as Envoy is: trusts the inline CA, sends the SNI, checks the SAN, offers the ALPN.</summary>
    private static GrpcChannel ChannelAsEnvoyWould(int port, UpstreamTlsContext tls)
    {
        var trusted = new X509Certificate2Collection();
        trusted.ImportFromPem(tls.CommonTlsContext.ValidationContext.TrustedCa.InlineString);
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck, DisableCertificateDownloads = true };
        policy.CustomTrustStore.AddRange(trusted);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = tls.CommonTlsContext.ValidationContext.MatchTypedSubjectAltNames.Single().Matcher.Exact,
                CertificateChainPolicy = policy,
                ApplicationProtocols = [.. tls.CommonTlsContext.AlpnProtocols.Select(p => new SslApplicationProtocol(p))],
            },
        };
        return GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler });
    }
}
