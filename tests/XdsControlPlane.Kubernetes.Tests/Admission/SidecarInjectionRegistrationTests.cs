using System.CommandLine;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using XdsControlPlane.Kubernetes.Admission;
using XdsControlPlane.Kubernetes.Admission.Injection;
using XdsControlPlane.Server;

namespace XdsControlPlane.Kubernetes.Tests.Admission;

/// <summary>
/// The server's <c>--inject-*</c> flags reach the configuration section <c>Injection</c>, and
/// <see cref="SidecarInjectionServiceCollectionExtensions.AddSidecarInjection"/> binds it and registers the injector as
/// the webhook's reviewer of pods; bad settings are reported naming the key.
/// </summary>
[TestFixture]
public sealed class SidecarInjectionRegistrationTests
{
    [Test]
    public async Task TheFlagsConfigureTheInjectorTheWebhookFinds()
    {
        IConfiguration? seen = null;
        var command = ServerCommandLine.Build((settings, _) =>
        {
            seen = settings;
            return Task.FromResult(0);
        });
        using var error = new StringWriter();
        var exit = await command.Parse(["--inject-proxy-image", "registry.example.com/envoy:v1.39.6", "--inject-init-image", "registry.example.com/sandboxctl-init:1", "--inject-xds-address", "[fd00::10]:18000", "--inject-native-sidecar", "always"])
            .InvokeAsync(new InvocationConfiguration { Output = TextWriter.Null, Error = error });
        Assert.That(exit, Is.Zero, error.ToString());

        using var provider = Services(seen!).BuildServiceProvider();
        var reviewer = provider.GetServices<IAdmissionReviewer>().Single(r => r.Resource == "pods" && r.Group == "");
        var review = PodAdmission.Review("deployment-pod.json");
        var pod = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(PodAdmission.Pod(review), reviewer.Review(PodAdmission.Subject(review)).Patch!).ToJsonString());

        var proxy = pod.Spec.InitContainers.Single(c => c.Name == PodSidecarInjector.ProxyContainerName);
        Assert.That(proxy.Image, Is.EqualTo("registry.example.com/envoy:v1.39.6"));
        Assert.That(proxy.RestartPolicy, Is.EqualTo("Always"));
        Assert.That(proxy.Args[1], Does.Contain("\"address\":\"fd00::10\",\"port_value\":18000"));
        Assert.That(pod.Spec.InitContainers.Single(c => c.Name == PodSidecarInjector.InitContainerName).Image, Is.EqualTo("registry.example.com/sandboxctl-init:1"));
    }

    [Test]
    public async Task AnUnknownNativeSidecarModeIsRefusedByTheCommandLine()
    {
        var command = ServerCommandLine.Build((_, _) => Task.FromResult(0));
        using var error = new StringWriter();

        var exit = await command.Parse(["--inject-native-sidecar", "sometimes"]).InvokeAsync(new InvocationConfiguration { Output = TextWriter.Null, Error = error });

        Assert.That(exit, Is.Not.Zero);
        Assert.That(error.ToString(), Does.Contain("--inject-native-sidecar must be auto, always or never, got 'sometimes'."));
    }

    [Test]
    public void ConfiguredExcludedPortsReplaceTheDefaults()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Injection:ExcludedOutboundPorts:0"] = "9000",
            ["Injection:ExcludedOutboundPorts:1"] = "9100-9199",
        }).Build();

        using var provider = Services(configuration).BuildServiceProvider();
        var review = PodAdmission.Review("deployment-pod.json");
        var patch = provider.GetServices<IAdmissionReviewer>().Single().Review(PodAdmission.Subject(review)).Patch!;
        var pod = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(PodAdmission.Pod(review), patch).ToJsonString());

        Assert.That(pod.Spec.InitContainers.Single(c => c.Name == PodSidecarInjector.InitContainerName).Args, Is.EqualTo(new[] { "-p", "15001", "-u", "1337", "-x", "9000,9100:9199" }));
    }

    [Test]
    public void BadSettingsAreReportedNamingTheKey()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Injection:XdsAddress"] = "no-port",
            ["Injection:ExcludedOutboundPorts:0"] = "70000",
            ["Injection:OutboundCapturePort"] = "15006",
        }).Build();

        using var provider = Services(configuration).BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<SidecarInjectionOptions>>().Value)!;
        Assert.That(failure.Failures, Has.Some.Contains("Injection:XdsAddress must be host:port"));
        Assert.That(failure.Failures, Has.Some.Contains("Injection:ExcludedOutboundPorts:0 must be a port"));
        Assert.That(failure.Failures, Has.Some.Contains("Injection:OutboundCapturePort must equal Translation:SidecarOutboundPort"));
    }

    [TestCase("Optional", "mesh-xds")]
    [TestCase("Required", "sandboxctl-xds")]
    [TestCase("Off", null)]
    public void TokenReviewOn_WithTheXdsCa_InjectedProxiesSendATokenForTheServersAudience(string mode, string? audience)
    {
        using var ca = new XdsControlPlane.Testing.TestCertificateAuthority();
        var file = Path.GetTempFileName();
        File.WriteAllText(file, ca.CaPem);
        try
        {
            var settings = new Dictionary<string, string?> { ["Injection:XdsCaFile"] = file, ["Xds:TokenReview:Mode"] = mode };
            if (audience is "mesh-xds")
            {
                settings["Xds:TokenReview:Audience"] = audience;
            }

            using var provider = Services(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()).BuildServiceProvider();
            var review = PodAdmission.Review("deployment-pod.json");
            var patch = provider.GetServices<IAdmissionReviewer>().Single().Review(PodAdmission.Subject(review)).Patch!;
            var pod = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(PodAdmission.Pod(review), patch).ToJsonString());

            Assert.That(provider.GetRequiredService<IOptions<SidecarInjectionOptions>>().Value.XdsTokenAudience, Is.EqualTo(audience));
            Assert.That(pod.Spec.Volumes.SingleOrDefault(v => v.Name == PodSidecarInjector.XdsTokenVolumeName)?.Projected.Sources.Single().ServiceAccountToken.Audience, Is.EqualTo(audience));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void RequiredTokenReview_WithoutTheXdsCa_WebhookOn_IsReportedNamingTheSettings()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Xds:TokenReview:Mode"] = "Required" }).Build();
        var optional = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Xds:TokenReview:Mode"] = "Optional" }).Build();

        using var provider = Services(configuration).BuildServiceProvider();
        using var served = Services(optional).BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<SidecarInjectionOptions>>().Value)!;
        Assert.That(failure.Failures, Has.One.StartsWith("Xds:TokenReview:Mode (--xds-token-review) is Required, so every injected proxy must send a ServiceAccount token, which it sends over TLS only: give Injection:XdsCaFile (--inject-xds-ca-file"));
        Assert.That(served.GetRequiredService<IOptions<SidecarInjectionOptions>>().Value.SendsXdsToken, Is.False, "optional: injected proxies without the CA send no token and are served anonymously");
    }

    private static ServiceCollection Services(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddOptions<PublishOptions>();
        services.AddSidecarInjection(configuration.GetSection(SidecarInjectionOptions.Section), configuration.GetSection("Xds:TokenReview"));
        return services;
    }
}
