using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Envoy.Config.Bootstrap.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.GrpcCredential.V3;
using Google.Protobuf;
using Grpc.Core;
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
/// Injected proxies send a ServiceAccount token when the control plane reviews tokens (<c>--xds-token-review</c>):
/// the server in Kubernetes mode with a TLS xDS listener and token review on injects, over its HTTPS webhook, a projected
/// token volume mounted read-only in the proxy and a bootstrap whose Google gRPC xDS client sends that file as
/// <c>authorization: Bearer</c>; an ADS client set up only from that bootstrap (its token path mapped to a file holding a
/// token the fake API server issued for the pod's ServiceAccount) is served under <c>required</c>, and refused without it.
/// </summary>
public sealed class InjectedProxyTokenTests
{
    private static readonly string[] OurAudience = ["sandboxctl-xds"];
    private readonly HostLog _log = new();
    private TestCertificateAuthority _ca = null!;
    private string _directory = "";

    [SetUp]
    public void WriteCertificates()
    {
        _log.Clear();
        _ca = new TestCertificateAuthority();
        _directory = Directory.CreateTempSubdirectory("xdscp-inject-token-").FullName;
        var server = _ca.Server();
        File.WriteAllText(Path.Combine(_directory, "tls.crt"), server.ChainPem);
        File.WriteAllText(Path.Combine(_directory, "tls.key"), server.KeyPem);
        File.WriteAllText(Path.Combine(_directory, "ca.crt"), _ca.CaPem);
    }

    [TearDown]
    public void Clean()
    {
        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
        _log.AssertNoUnexpectedWarnings();
    }

    [Test]
    public async Task TokenReviewOn_PodInjectedOverHttps_GetsTheProjectedTokenReadOnlyInTheProxy_AndABootstrapSendingIt()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var api = await FakeApiServer.StartAsync();
        await using var host = await StartAsync(api, "Required", cancel.Token);
        using var webhook = new WebhookClient(host.WebhookPort, await WebhookClient.CaAsync(host.AdminPort, cancel.Token));
        var review = PodAdmission.Review("deployment-pod.json");

        var (patched, pod) = await InjectAsync(webhook, review, cancel.Token);
        var volume = pod.Spec.Volumes.Single(v => v.Name == PodSidecarInjector.XdsTokenVolumeName);
        var token = volume.Projected.Sources.Single().ServiceAccountToken;
        var proxy = pod.Spec.InitContainers.Single(c => c.Name == PodSidecarInjector.ProxyContainerName);
        var google = Bootstrap(proxy).DynamicResources.AdsConfig.GrpcServices.Single().GoogleGrpc;
        var plugin = google.CallCredentials.Single().FromPlugin;
        var metadata = plugin.TypedConfig.Unpack<FileBasedMetadataConfig>();

        Assert.Multiple(() =>
        {
            Assert.That((token.Audience, token.ExpirationSeconds, token.Path), Is.EqualTo(("sandboxctl-xds", (long?)3600, "token")), "the server's audience, an hour the kubelet refreshes at 80%");
            Assert.That(proxy.VolumeMounts.Select(m => (m.Name, m.MountPath, m.ReadOnlyProperty)), Is.EqualTo(new[] { (PodSidecarInjector.XdsTokenVolumeName, "/var/run/secrets/sandboxctl.io/xds-token", (bool?)true) }));
            Assert.That(pod.Spec.Containers.Concat(pod.Spec.InitContainers).Where(c => c.Name != PodSidecarInjector.ProxyContainerName).SelectMany(c => c.VolumeMounts ?? []).Select(m => m.Name), Does.Not.Contain(PodSidecarInjector.XdsTokenVolumeName), "only the proxy mounts the token");
            Assert.That(pod.Spec.Volumes.Select(v => v.Name), Does.Contain("kube-api-access-x7k2p"), "the pod's own volumes are kept");
            Assert.That((plugin.Name, google.CredentialsFactoryName), Is.EqualTo((EnvoyBootstrapRenderer.FileBasedMetadata, EnvoyBootstrapRenderer.FileBasedMetadata)));
            Assert.That((metadata.SecretData.Filename, metadata.HeaderPrefix, metadata.HeaderKey), Is.EqualTo(("/var/run/secrets/sandboxctl.io/xds-token/token", "Bearer ", "")), "the mounted file, as authorization: Bearer");
            Assert.That(google.ChannelCredentials.SslCredentials.RootCerts.InlineString, Is.EqualTo(_ca.CaPem), "over TLS only, trusting the CA written in");
            Assert.That(JsonNode.Parse(pod.Metadata.Annotations[PodSidecarInjector.StatusAnnotation])!["volumes"]!.AsArray().Select(v => (string?)v), Is.EqualTo(new[] { PodSidecarInjector.XdsTokenVolumeName }));
            Assert.That(_log.Events.Count(e => e.EventId == 8100), Is.EqualTo(1), "said once on start");
        });

        // Re-invoked with the patched pod (reinvocationPolicy IfNeeded): nothing more, no second volume.
        review["request"]!["object"] = patched;
        var again = await webhook.ReviewAsync(review.ToJsonString(), cancel.Token);
        Assert.That(((bool?)again["allowed"], again["patch"]), Is.EqualTo((true, (JsonNode?)null)), again.ToJsonString());
    }

    [Test]
    public async Task InjectedBootstrap_SendsTheTokenFileItNames_ServedUnderRequired_RefusedWithoutIt()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var api = await FakeApiServer.StartAsync();
        api.Put(FakeApiServer.Services, FakeApiServer.ServiceObject("shop", "cart"));
        await using var host = await StartAsync(api, "Required", cancel.Token);
        using var webhook = new WebhookClient(host.WebhookPort, await WebhookClient.CaAsync(host.AdminPort, cancel.Token));
        var (_, pod) = await InjectAsync(webhook, PodAdmission.Review("deployment-pod.json"), cancel.Token);
        var bootstrap = Bootstrap(pod.Spec.InitContainers.Single(c => c.Name == PodSidecarInjector.ProxyContainerName));
        var google = bootstrap.DynamicResources.AdsConfig.GrpcServices.Single().GoogleGrpc;
        var credentials = google.CallCredentials.Single().FromPlugin.TypedConfig.Unpack<FileBasedMetadataConfig>();
        var role = bootstrap.Node.Metadata.Fields[DataPlaneRoles.RoleKey].StringValue;

        // The kubelet's projected token of the pod's ServiceAccount, at the path the bootstrap names (mapped to a temp file).
        var tokenFile = Path.Combine(_directory, "token");
        await File.WriteAllTextAsync(tokenFile, api.IssueServiceAccountToken(pod.Metadata.NamespaceProperty, pod.Spec.ServiceAccountName, OurAudience), cancel.Token);
        using var channel = ChannelAsGoogleGrpcWould(host.XdsPort, google);

        var served = await TlsAdsClient.FirstClustersAsync(channel, role, cancel.Token, await CallMetadataAsThePluginWouldAsync(credentials, tokenFile, cancel.Token));
        var refused = Assert.ThrowsAsync<RpcException>(async () => await TlsAdsClient.FirstClustersAsync(channel, role, cancel.Token));

        Assert.Multiple(() =>
        {
            Assert.That(role, Is.EqualTo("sidecar"));
            Assert.That(served.Resources, Is.Not.Empty, "shop/default's token gets the sidecar's clusters");
            Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(refused.Status.Detail, Does.Contain("without an identity: Xds:TokenReview:Mode (--xds-token-review) is Required"));
            Assert.That(api.TokenReviewAudiences, Has.All.EqualTo(OurAudience));
        });
    }

    [Test]
    public void PodWithAVolumeOfTheTokensName_IsRefusedNamingIt()
    {
        var review = PodAdmission.Review("deployment-pod.json");
        var pod = PodAdmission.Pod(review).DeepClone().AsObject();
        pod["spec"]!["volumes"]!.AsArray().Add(new JsonObject { ["name"] = PodSidecarInjector.XdsTokenVolumeName, ["emptyDir"] = new JsonObject() });

        var verdict = Injector().Review(PodAdmission.Subject(review, pod));

        Assert.That((verdict.Allowed, verdict.Code), Is.EqualTo((false, 422)));
        Assert.That(verdict.Message, Does.StartWith("spec.volumes[2].name: the volume name sandboxctl-xds-token is the sidecar proxy's"));
    }

    [Test]
    public void PodWithoutAutomountedApiToken_GetsTheXdsTokenVolumeOnly_AndKeepsItsChoice()
    {
        var review = PodAdmission.Review("deployment-pod.json");
        var original = PodAdmission.Pod(review).DeepClone().AsObject();
        var spec = original["spec"]!.AsObject();
        spec.Remove("volumes");
        spec["automountServiceAccountToken"] = false;
        spec["containers"]![0]!.AsObject().Remove("volumeMounts");

        var pod = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(original, Injector().Review(PodAdmission.Subject(review, original)).Patch!).ToJsonString());

        Assert.Multiple(() =>
        {
            Assert.That(pod.Spec.AutomountServiceAccountToken, Is.False, "the API token stays unmounted");
            Assert.That(pod.Spec.Volumes.Select(v => v.Name), Is.EqualTo(new[] { PodSidecarInjector.XdsTokenVolumeName }), "a token for the control plane's audience only, which the API server refuses");
            Assert.That(pod.Spec.Containers.Single().VolumeMounts, Is.Null.Or.Empty);
        });
    }

    [Test]
    public void TokenOptions_AreCheckedNamingTheField()
    {
        var withoutCa = new SidecarInjectionOptions { XdsTokenAudience = "sandboxctl-xds" }.Validate().ToArray();
        var expiration = new SidecarInjectionOptions { XdsCaFile = Path.Combine(_directory, "ca.crt"), XdsTokenAudience = "sandboxctl-xds", XdsTokenExpirationSeconds = 60 }.Validate().ToArray();
        var audience = new SidecarInjectionOptions { XdsCaFile = Path.Combine(_directory, "ca.crt"), XdsTokenAudience = "a\nb" }.Validate().ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(withoutCa, Has.One.EqualTo("Injection:XdsTokenAudience needs Injection:XdsCaFile (--inject-xds-ca-file): injected proxies send their ServiceAccount token over TLS only, never in the clear."));
            Assert.That(expiration, Has.One.StartsWith("Injection:XdsTokenExpirationSeconds must be from 600"));
            Assert.That(audience, Has.One.StartsWith("Injection:XdsTokenAudience (from --xds-token-audience) must be 1 to 256 printable characters"));
            Assert.That(new SidecarInjectionOptions { XdsCaFile = Path.Combine(_directory, "ca.crt"), XdsTokenAudience = "sandboxctl-xds" }.Validate(), Is.Empty);
        });
    }

    private PodSidecarInjector Injector() => new(Options.Create(new SidecarInjectionOptions
    {
        XdsCaFile = Path.Combine(_directory, "ca.crt"),
        XdsTokenAudience = "sandboxctl-xds",
        NativeSidecar = NativeSidecarMode.Always,
    }));

    /// <summary>The server in Kubernetes mode: TLS xDS, token review <paramref name="mode"/>, the webhook on, the injector given the xDS CA and the name the test certificate carries.</summary>
    private async Task<Server.ServerHost> StartAsync(FakeApiServer api, string mode, CancellationToken cancellationToken) =>
        await new InProcessServer().WithLog(_log).WithKubernetesApi(api.Url)
            .With("Xds:Tls:CertFile", Path.Combine(_directory, "tls.crt"))
            .With("Xds:Tls:KeyFile", Path.Combine(_directory, "tls.key"))
            .With("Xds:TokenReview:Mode", mode)
            .With("Webhook:Port", FreePort.Next())
            .With("Injection:XdsCaFile", Path.Combine(_directory, "ca.crt"))
            .With("Injection:XdsServerName", "localhost")
            .With("Injection:NativeSidecar", "Always")
            .StartAsync(cancellationToken);

    /// <summary>The pod of <paramref name="review"/> as the webhook patched it over HTTPS (JSON, and as KubernetesClient reads it).</summary>
    private static async Task<(JsonObject Json, V1Pod Pod)> InjectAsync(WebhookClient webhook, JsonObject review, CancellationToken cancellationToken)
    {
        var response = await webhook.ReviewAsync(review.ToJsonString(), cancellationToken);
        Assert.That((bool?)response["allowed"], Is.True, response.ToJsonString());
        var patched = PodAdmission.Apply(PodAdmission.Pod(review), WebhookClient.Patch(response)!);
        return (patched, KubernetesJson.Deserialize<V1Pod>(patched.ToJsonString()));
    }

    /// <summary>The proxy's bootstrap as the kubelet starts Envoy with it (node id expanded), checked against Envoy's rules.</summary>
    private static Bootstrap Bootstrap(V1Container proxy)
    {
        var json = proxy.Args[1].Replace("$(POD_NAME)", "cart-1", StringComparison.Ordinal).Replace("$(POD_NAMESPACE)", "shop", StringComparison.Ordinal);
        var bootstrap = new JsonParser(JsonParser.Settings.Default.WithTypeRegistry(EnvoyTypeCatalog.Registry)).Parse<Bootstrap>(json);
        var validation = EnvoyBootstrapRenderer.Validate(bootstrap);
        Assert.That(validation.IsValid, Is.True, string.Join("; ", validation.Violations));
        return bootstrap;
    }

    /// <summary>
    /// A channel set up only from <paramref name="google"/>, as Envoy's Google gRPC client is: TLS trusting its inline root
    /// certificates, checking the name of <c>grpc.ssl_target_name_override</c> (else the target's host); the target itself
    /// mapped to the server's loopback port.
    /// </summary>
    private static GrpcChannel ChannelAsGoogleGrpcWould(int port, GrpcService.Types.GoogleGrpc google)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(google.ChannelCredentials.SslCredentials.RootCerts.InlineString);
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck, DisableCertificateDownloads = true };
        policy.CustomTrustStore.AddRange(roots);
        var name = google.ChannelArgs?.Args.TryGetValue("grpc.ssl_target_name_override", out var value) == true ? value.StringValue : google.TargetUri[..google.TargetUri.LastIndexOf(':')];
        var handler = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { TargetHost = name, CertificateChainPolicy = policy } };
        return GrpcChannel.ForAddress($"https://127.0.0.1:{port}", new GrpcChannelOptions { HttpHandler = handler });
    }

    /// <summary>What Envoy's <c>file_based_metadata</c> plugin adds to each call: the header (default <c>authorization</c>), the prefix, the file as it is now.</summary>
    private static async Task<Grpc.Core.Metadata> CallMetadataAsThePluginWouldAsync(FileBasedMetadataConfig config, string file, CancellationToken cancellationToken) => new()
    {
        { config.HeaderKey is { Length: > 0 } key ? key : "authorization", config.HeaderPrefix + await File.ReadAllTextAsync(file, cancellationToken) },
    };
}
