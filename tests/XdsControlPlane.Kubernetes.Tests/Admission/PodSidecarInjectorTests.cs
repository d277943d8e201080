using System.Text.Json.Nodes;
using Envoy.Config.Bootstrap.V3;
using Google.Protobuf;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Options;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Kubernetes.Admission.Injection;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Kubernetes.Tests.Admission;

/// <summary>
/// <see cref="PodSidecarInjector"/> on pods as the API server sends them (Fixtures/pods): its JSON patch applied by a
/// real RFC 6902 implementation gives a pod KubernetesClient's <see cref="V1Pod"/> reads, with every original field
/// kept and the init container, the proxy (native or regular) and the annotations added; the skips (opt-out, already
/// injected, host network, not CREATE) change nothing; a malformed pod is refused naming the field.
/// </summary>
[TestFixture]
public sealed class PodSidecarInjectorTests
{
    private const string Deployment = "deployment-pod.json";
    private const string WithInitContainers = "init-containers-pod.json";
    private const string HostNetwork = "host-network-pod.json";
    private const string Job = "job-pod.json";

    [Test]
    public void NativeSidecarGoesAfterTheRedirectAndBeforeEverythingElse()
    {
        var review = PodAdmission.Review(Deployment);
        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(review));

        Assert.That(verdict.Allowed, Is.True);
        Assert.That(verdict.Message, Does.Contain("native sidecar"));
        var patched = PodAdmission.Apply(PodAdmission.Pod(review), verdict.Patch!);
        AssertOriginalKept(PodAdmission.Pod(review), patched);
        var pod = KubernetesJson.Deserialize<V1Pod>(patched.ToJsonString());

        Assert.That(pod.Spec.InitContainers.Select(c => c.Name), Is.EqualTo(new[] { "sandboxctl-init", "sandboxctl-proxy" }));
        Assert.That(pod.Spec.Containers.Select(c => c.Name), Is.EqualTo(new[] { "cart" }));
        var proxy = pod.Spec.InitContainers[1];
        Assert.Multiple(() =>
        {
            Assert.That(proxy.RestartPolicy, Is.EqualTo("Always"), "a native sidecar is an init container with restartPolicy Always");
            Assert.That(proxy.Image, Is.EqualTo("envoyproxy/envoy:v1.39.6"));
            Assert.That(proxy.SecurityContext.RunAsUser, Is.EqualTo(1337));
            Assert.That(proxy.SecurityContext.RunAsNonRoot, Is.True);
            Assert.That(proxy.SecurityContext.ReadOnlyRootFilesystem, Is.True);
            Assert.That(proxy.SecurityContext.AllowPrivilegeEscalation, Is.False);
            Assert.That(proxy.SecurityContext.Capabilities.Drop, Is.EqualTo(new[] { "ALL" }));
            Assert.That(proxy.StartupProbe.HttpGet.Path, Is.EqualTo("/ready"));
            Assert.That(proxy.StartupProbe.HttpGet.Port.Value, Is.EqualTo("15021"));
            Assert.That(proxy.ReadinessProbe.HttpGet.Port.Value, Is.EqualTo("15021"));
            Assert.That(proxy.Env.Select(e => (e.Name, e.ValueFrom.FieldRef.FieldPath)), Is.EqualTo(new[] { ("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"), ("POD_IP", "status.podIP") }));
            Assert.That(proxy.Args[0], Is.EqualTo("--config-yaml"));
            Assert.That(proxy.Args[1], Does.Contain("\"id\":\"$(POD_NAME).$(POD_NAMESPACE)\""), "the kubelet expands the node id per pod");

            var init = pod.Spec.InitContainers[0];
            Assert.That(init.Image, Does.StartWith("ghcr.io/sandboxctl/sandboxctl-init:"));
            Assert.That(init.Args, Is.EqualTo(new[] { "-p", "15001", "-u", "1337", "-x", "18000,18001,18100:18199" }));
            Assert.That(init.SecurityContext.RunAsUser, Is.Zero);
            Assert.That(init.SecurityContext.RunAsNonRoot, Is.False);
            Assert.That(init.SecurityContext.Capabilities.Add, Is.EqualTo(new[] { "NET_ADMIN", "NET_RAW" }));
            Assert.That(init.SecurityContext.Capabilities.Drop, Is.EqualTo(new[] { "ALL" }));
            Assert.That(init.SecurityContext.Privileged, Is.False);

            Assert.That(pod.Metadata.Annotations[PodSidecarInjector.InjectedAnnotation], Is.EqualTo(SidecarInjectionOptions.InjectorVersion));
            var status = JsonNode.Parse(pod.Metadata.Annotations[PodSidecarInjector.StatusAnnotation])!;
            Assert.That(status["initContainers"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "sandboxctl-init", "sandboxctl-proxy" }));
            Assert.That(status["nativeSidecar"]!.GetValue<bool>(), Is.True);
            Assert.That(pod.Metadata.Annotations, Does.Not.ContainKey(PodSidecarInjector.DefaultContainerAnnotation), "the app stays the first container");
        });
    }

    [Test]
    public void RegularSidecarIsTheFirstContainerAndKubectlStillPicksTheApplication()
    {
        var review = PodAdmission.Review(Deployment);
        var verdict = Injector(NativeSidecarMode.Never).Review(PodAdmission.Subject(review));

        var patched = PodAdmission.Apply(PodAdmission.Pod(review), verdict.Patch!);
        AssertOriginalKept(PodAdmission.Pod(review), patched);
        var pod = KubernetesJson.Deserialize<V1Pod>(patched.ToJsonString());

        Assert.That(verdict.Message, Does.Contain("regular container"));
        Assert.That(pod.Spec.InitContainers.Select(c => c.Name), Is.EqualTo(new[] { "sandboxctl-init" }));
        Assert.That(pod.Spec.Containers.Select(c => c.Name), Is.EqualTo(new[] { "sandboxctl-proxy", "cart" }));
        Assert.That(pod.Spec.Containers[0].RestartPolicy, Is.Null);
        Assert.That(pod.Metadata.Annotations[PodSidecarInjector.DefaultContainerAnnotation], Is.EqualTo("cart"));
        Assert.That(verdict.Warnings, Is.Empty);
    }

    [TestCase(null, false)]
    [TestCase(28, false)]
    [TestCase(32, false)]
    [TestCase(33, true)]
    [TestCase(35, true)]
    public void AutoIsNativeFromKubernetes133(int? minor, bool native)
    {
        var review = PodAdmission.Review(Deployment);
        var injector = new PodSidecarInjector(Options.Create(new SidecarInjectionOptions { ClusterMinorVersion = minor }));

        var pod = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(PodAdmission.Pod(review), injector.Review(PodAdmission.Subject(review)).Patch!).ToJsonString());

        Assert.That(pod.Spec.InitContainers.Any(c => c.Name == "sandboxctl-proxy"), Is.EqualTo(native));
        Assert.That(pod.Spec.Containers.Any(c => c.Name == "sandboxctl-proxy"), Is.EqualTo(!native));
    }

    [TestCase("true", true)]
    [TestCase("false", false)]
    public void ThePodsNativeSidecarAnnotationOverridesTheMode(string value, bool native)
    {
        var review = PodAdmission.Review(Deployment);
        var pod = PodAdmission.Pod(review);
        pod["metadata"]!["annotations"]![PodSidecarInjector.NativeSidecarAnnotation] = value;

        var verdict = Injector(native ? NativeSidecarMode.Never : NativeSidecarMode.Always).Review(PodAdmission.Subject(review, pod));

        var patched = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(pod, verdict.Patch!).ToJsonString());
        Assert.That(patched.Spec.InitContainers.Any(c => c.Name == "sandboxctl-proxy"), Is.EqualTo(native));
    }

    [TestCase("annotations", "false")]
    [TestCase("labels", "false")]
    [TestCase("annotations", "False")]
    public void APodThatOptsOutIsAdmittedUnchanged(string map, string value)
    {
        var review = PodAdmission.Review(Deployment);
        var pod = PodAdmission.Pod(review);
        pod["metadata"]![map]![PodSidecarInjector.InjectKey] = value;

        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(review, pod));

        Assert.That(verdict.Allowed, Is.True);
        Assert.That(verdict.Patch, Is.Null);
        Assert.That(verdict.Message, Does.Contain("opted out"));
    }

    [Test]
    public void OptOutWinsOverOptIn()
    {
        var review = PodAdmission.Review(WithInitContainers); // label sandboxctl.io/inject: "true"
        var pod = PodAdmission.Pod(review);
        pod["metadata"]!["annotations"] = new JsonObject { [PodSidecarInjector.InjectKey] = "false" };

        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(review, pod));

        Assert.That(verdict.Patch, Is.Null);
        Assert.That(verdict.Message, Does.Contain("opted out"));
    }

    [Test]
    public void WithExplicitOptInOnlyPodsThatSayTrueAreInjected()
    {
        var injector = new PodSidecarInjector(Options.Create(new SidecarInjectionOptions { RequireExplicitOptIn = true }));

        var unlabelled = injector.Review(PodAdmission.Subject(PodAdmission.Review(Deployment)));
        var labelled = injector.Review(PodAdmission.Subject(PodAdmission.Review(WithInitContainers)));

        Assert.That(unlabelled.Patch, Is.Null);
        Assert.That(unlabelled.Message, Does.Contain("not opted in"));
        Assert.That(labelled.Patch, Is.Not.Null);
    }

    [Test]
    public void AnUnknownInjectValueIsIgnoredWithAWarning()
    {
        var review = PodAdmission.Review(Deployment);
        var pod = PodAdmission.Pod(review);
        pod["metadata"]!["annotations"]![PodSidecarInjector.InjectKey] = "yes";

        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(review, pod));

        Assert.That(verdict.Patch, Is.Not.Null);
        Assert.That(verdict.Warnings, Has.One.Contains("sandboxctl.io/inject: \"yes\" is neither \"true\" nor \"false\""));
    }

    [TestCase(NativeSidecarMode.Always)]
    [TestCase(NativeSidecarMode.Never)]
    public void ReAdmissionOfAnInjectedPodChangesNothing(NativeSidecarMode mode)
    {
        var review = PodAdmission.Review(Deployment);
        var injector = Injector(mode);
        var injected = PodAdmission.Apply(PodAdmission.Pod(review), injector.Review(PodAdmission.Subject(review)).Patch!);

        // reinvocationPolicy IfNeeded: another webhook changed the pod after ours, and ours is asked again.
        injected["metadata"]!["labels"]!["other-webhook"] = "was-here";
        var again = injector.Review(PodAdmission.Subject(review, injected));

        Assert.That(again.Allowed, Is.True);
        Assert.That(again.Patch, Is.Null);
        Assert.That(again.Message, Does.Contain("already injected"));
    }

    [Test]
    public void AHostNetworkPodIsNotInjected()
    {
        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(PodAdmission.Review(HostNetwork)));

        Assert.That(verdict.Allowed, Is.True);
        Assert.That(verdict.Patch, Is.Null);
        Assert.That(verdict.Message, Does.Contain("hostNetwork"));
        Assert.That(verdict.Warnings, Has.One.Contains("host's network"));
    }

    [Test]
    public void ThePodsInitContainersRunAfterANativeProxyAndAnnotationsAreAddedAsAMap()
    {
        var review = PodAdmission.Review(WithInitContainers); // no metadata.annotations
        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(review));

        Assert.That(verdict.Patch!.Select(op => op!["path"]!.GetValue<string>()), Does.Contain("/metadata/annotations"));
        var patched = PodAdmission.Apply(PodAdmission.Pod(review), verdict.Patch!);
        AssertOriginalKept(PodAdmission.Pod(review), patched);
        var pod = KubernetesJson.Deserialize<V1Pod>(patched.ToJsonString());

        Assert.That(pod.Spec.InitContainers.Select(c => c.Name), Is.EqualTo(new[] { "sandboxctl-init", "sandboxctl-proxy", "wait-for-db" }));
        Assert.That(pod.Metadata.Annotations.Keys, Is.EquivalentTo(new[] { PodSidecarInjector.InjectedAnnotation, PodSidecarInjector.StatusAnnotation }));
        Assert.That(verdict.Warnings, Is.Empty);
    }

    [Test]
    public void WithARegularProxyThePodsInitContainersAreWarnedAbout()
    {
        var review = PodAdmission.Review(WithInitContainers);
        var verdict = Injector(NativeSidecarMode.Never).Review(PodAdmission.Subject(review));

        var pod = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(PodAdmission.Pod(review), verdict.Patch!).ToJsonString());

        Assert.That(pod.Spec.InitContainers.Select(c => c.Name), Is.EqualTo(new[] { "sandboxctl-init", "wait-for-db" }));
        Assert.That(pod.Spec.Containers.Select(c => c.Name), Is.EqualTo(new[] { "sandboxctl-proxy", "orders" }));
        Assert.That(verdict.Warnings, Has.One.Contains("init containers run after the redirect is installed but before the proxy starts"));
    }

    [Test]
    public void NamedPortsAndTheProbesThatUseThemAreUntouched()
    {
        var review = PodAdmission.Review(Deployment);
        var verdict = Injector(NativeSidecarMode.Never).Review(PodAdmission.Subject(review));

        var pod = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(PodAdmission.Pod(review), verdict.Patch!).ToJsonString());

        var cart = pod.Spec.Containers.Single(c => c.Name == "cart");
        Assert.That(cart.Ports.Select(p => (p.Name, p.ContainerPort)), Is.EqualTo(new[] { ("http", 8080), ("metrics", 9090) }));
        Assert.That(cart.LivenessProbe.HttpGet.Port.Value, Is.EqualTo("http"));
        Assert.That(cart.ReadinessProbe.HttpGet.Port.Value, Is.EqualTo("http"));
        Assert.That(pod.Spec.Containers.Single(c => c.Name == "sandboxctl-proxy").Ports, Is.Null, "the proxy declares no port a name could clash with");
    }

    [Test]
    public void AJobPodGetsANativeSidecarOrAWarning()
    {
        var review = PodAdmission.Review(Job);

        var native = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(review));
        var regular = Injector(NativeSidecarMode.Never).Review(PodAdmission.Subject(review));

        Assert.That(native.Warnings, Is.Empty);
        Assert.That(regular.Warnings, Has.One.Contains("never completes"));
        AssertOriginalKept(PodAdmission.Pod(review), PodAdmission.Apply(PodAdmission.Pod(review), regular.Patch!));
    }

    [Test]
    public void AnApplicationRunningAsTheProxysUserIsWarnedAbout()
    {
        var review = PodAdmission.Review(Deployment);
        var pod = PodAdmission.Pod(review);
        pod["spec"]!["containers"]![0]!["securityContext"]!["runAsUser"] = 1337;

        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(review, pod));

        Assert.That(verdict.Warnings, Has.One.Contains("spec.containers[0] runs as user 1337, the proxy's"));
    }

    [TestCase("UPDATE")]
    [TestCase("DELETE")]
    [TestCase("CONNECT")]
    public void OnlyCreateIsMutated(string operation)
    {
        var review = PodAdmission.Review(Deployment);

        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(review, operation: operation));

        Assert.That(verdict.Allowed, Is.True);
        Assert.That(verdict.Patch, Is.Null);
        Assert.That(verdict.Message, Does.StartWith(operation));
    }

    [TestCase(15001, "spec.containers[0].ports[1].containerPort: port 15001 is the sidecar proxy's")]
    [TestCase(15021, "spec.containers[0].ports[1].containerPort: port 15021 is the sidecar proxy's")]
    public void APortOfTheProxyIsRefused(int port, string message)
    {
        var review = PodAdmission.Review(Deployment);
        var pod = PodAdmission.Pod(review);
        pod["spec"]!["containers"]![0]!["ports"]![1]!["containerPort"] = port;

        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(review, pod));

        Assert.That(verdict.Allowed, Is.False);
        Assert.That(verdict.Code, Is.EqualTo(422));
        Assert.That(verdict.Message, Does.Contain(message).And.Contain("sandboxctl.io/inject: \"false\""));
    }

    [TestCase("{\"spec\":{\"containers\":\"cart\"}}", "spec.containers must be an array, got a string")]
    [TestCase("{\"spec\":{}}", "spec.containers is missing")]
    [TestCase("{\"spec\":{\"containers\":[]}}", "spec.containers must hold at least one container")]
    [TestCase("{\"spec\":{\"containers\":[5]}}", "spec.containers[0] must be a container object, got a number")]
    [TestCase("{\"spec\":{\"containers\":[{\"name\":\"a\",\"ports\":[{\"containerPort\":\"80\"}]}]}}", "spec.containers[0].ports[0].containerPort must be a number, got a string")]
    [TestCase("{\"spec\":{\"containers\":[{\"name\":\"a\"}],\"initContainers\":{}}}", "spec.initContainers must be an array, got an object")]
    [TestCase("{\"metadata\":{\"annotations\":{\"a\":1}},\"spec\":{\"containers\":[{\"name\":\"a\"}]}}", "metadata.annotations[a] must be a string, got a number")]
    [TestCase("{\"metadata\":[],\"spec\":{\"containers\":[{\"name\":\"a\"}]}}", "metadata must be an object, got an array")]
    [TestCase("{\"spec\":{\"hostNetwork\":\"yes\",\"containers\":[{\"name\":\"a\"}]}}", "spec.hostNetwork must be a boolean, got a string")]
    [TestCase("[]", "object must be a Pod object, got an array")]
    public void AMalformedPodIsRefusedNamingTheField(string pod, string message)
    {
        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(PodAdmission.Review(Deployment), JsonNode.Parse(pod)));

        Assert.That(verdict.Allowed, Is.False);
        Assert.That(verdict.Code, Is.EqualTo(400));
        Assert.That(verdict.Message, Does.Contain(message));
    }

    [Test]
    public void AMinimalPodWithoutMetadataGetsItsAnnotations()
    {
        var review = PodAdmission.Review(Deployment);
        var pod = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "app", ["image"] = "app:1" }) } };

        var verdict = Injector(NativeSidecarMode.Always).Review(PodAdmission.Subject(review, pod));

        var patched = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(pod, verdict.Patch!).ToJsonString());
        Assert.That(patched.Metadata.Annotations, Does.ContainKey(PodSidecarInjector.InjectedAnnotation));
        Assert.That(patched.Spec.InitContainers.Select(c => c.Name), Is.EqualTo(new[] { "sandboxctl-init", "sandboxctl-proxy" }));
    }

    [Test]
    public void TheInjectedBootstrapPassesEnvoysRulesForAnyPod()
    {
        var injector = Injector(NativeSidecarMode.Always);
        var review = PodAdmission.Review(Deployment);
        var patched = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Apply(PodAdmission.Pod(review), injector.Review(PodAdmission.Subject(review)).Patch!).ToJsonString());
        var args = patched.Spec.InitContainers.Single(c => c.Name == "sandboxctl-proxy").Args;
        Assert.That(args[1], Is.EqualTo(injector.BootstrapJson));

        // What the kubelet starts Envoy with once it expanded $(POD_NAME) and $(POD_NAMESPACE).
        var expanded = args[1].Replace("$(POD_NAME)", "cart-7d9f8b6c5d-x2v9q", StringComparison.Ordinal).Replace("$(POD_NAMESPACE)", "shop", StringComparison.Ordinal);
        var bootstrap = new JsonParser(JsonParser.Settings.Default.WithTypeRegistry(EnvoyTypeCatalog.Registry)).Parse<Bootstrap>(expanded);

        var validation = EnvoyBootstrapRenderer.Validate(bootstrap);
        Assert.That(validation.IsValid, Is.True, string.Join("; ", validation.Violations));
        Assert.Multiple(() =>
        {
            Assert.That(bootstrap.Node.Id, Is.EqualTo("cart-7d9f8b6c5d-x2v9q.shop"));
            Assert.That(new DataPlaneGroupResolver().GroupOf(bootstrap.Node), Is.EqualTo(DataPlaneRoles.Sidecar), "the translator serves it the sidecar's resources");
            Assert.That(bootstrap.Node.Metadata.Fields[DataPlaneRoles.RoleKey].StringValue, Is.EqualTo("sidecar"));
            var xds = bootstrap.StaticResources.Clusters.Single(c => c.Name == EnvoyBootstrapRenderer.ControlPlaneCluster);
            var address = xds.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress;
            Assert.That((address.Address, address.PortValue), Is.EqualTo(("xds-control-plane.sandboxctl-system.svc.cluster.local", 18000u)));
            Assert.That(bootstrap.Admin.Address.SocketAddress.Address, Is.EqualTo("127.0.0.1"));
            Assert.That(bootstrap.Admin.Address.SocketAddress.PortValue, Is.EqualTo(15000u));
            var probe = bootstrap.StaticResources.Listeners.Single();
            Assert.That((probe.Address.SocketAddress.Address, probe.Address.SocketAddress.PortValue), Is.EqualTo(("0.0.0.0", 15021u)));
        });
    }

    [TestCase(nameof(SidecarInjectionOptions.XdsAddress), "nohost", "Injection:XdsAddress must be host:port")]
    [TestCase(nameof(SidecarInjectionOptions.XdsAddress), "[::1:18000", "Injection:XdsAddress must be host:port")]
    [TestCase(nameof(SidecarInjectionOptions.ProxyImage), "envoy proxy", "Injection:ProxyImage must be an image reference")]
    [TestCase(nameof(SidecarInjectionOptions.InitImage), "", "Injection:InitImage must be an image reference")]
    [TestCase(nameof(SidecarInjectionOptions.ProxyMemoryRequest), "lots", "Injection:ProxyMemoryRequest must be a Kubernetes quantity")]
    public void BadOptionsAreNamed(string field, string value, string message)
    {
        var options = new SidecarInjectionOptions();
        typeof(SidecarInjectionOptions).GetProperty(field)!.SetValue(options, value);

        Assert.That(options.Validate(), Has.One.Contains(message));
        Assert.That(() => new PodSidecarInjector(Options.Create(options)), Throws.ArgumentException.With.Message.Contains(message));
    }

    [Test]
    public void BadPortsAndUsersAreNamed()
    {
        var options = new SidecarInjectionOptions { ProxyUid = 0, AdminPort = 15001, ProbePort = 70000, ExcludedOutboundPorts = ["18000", "9-1", "x"], ClusterMinorVersion = -1 };

        Assert.That(options.Validate(), Is.EquivalentTo(new[]
        {
            "Injection:ProxyUid must be a user id from 1 to 2147483647 (0 is root, whose traffic would all bypass the proxy), got 0.",
            "Injection:ProbePort must be a port from 1 to 65535, got 70000.",
            "Injection:OutboundCapturePort, AdminPort and ProbePort must differ, got 15001, 15001 and 70000.",
            "Injection:ExcludedOutboundPorts:1 must be a port (18000) or a range FIRST-LAST (18100-18199) within 1-65535, got '9-1'.",
            "Injection:ExcludedOutboundPorts:2 must be a port (18000) or a range FIRST-LAST (18100-18199) within 1-65535, got 'x'.",
            "Injection:ClusterMinorVersion must be a Kubernetes minor version such as 33, got -1.",
        }));
        Assert.That(new SidecarInjectionOptions().Validate(), Is.Empty, "the defaults are valid");
    }

    private static PodSidecarInjector Injector(NativeSidecarMode mode) =>
        new(Options.Create(new SidecarInjectionOptions { NativeSidecar = mode }));

    /// <summary>
    /// <paramref name="patched"/> without what injection adds (its containers, its annotations, arrays and maps it
    /// created) equals <paramref name="original"/>: every original field kept, in order.
    /// </summary>
    private static void AssertOriginalKept(JsonObject original, JsonObject patched)
    {
        var stripped = patched.DeepClone().AsObject();
        var spec = stripped["spec"]!.AsObject();
        foreach (var list in new[] { "initContainers", "containers" })
        {
            if (spec[list] is JsonArray containers)
            {
                foreach (var added in containers.Where(c => c!["name"]!.GetValue<string>().StartsWith("sandboxctl-", StringComparison.Ordinal)).ToList())
                {
                    containers.Remove(added);
                }

                if (containers.Count == 0 && original["spec"]![list] is null)
                {
                    spec.Remove(list);
                }
            }
        }

        var metadata = stripped["metadata"]!.AsObject();
        var annotations = metadata["annotations"]!.AsObject();
        var before = original["metadata"]!["annotations"]?.AsObject();
        foreach (var key in new[] { PodSidecarInjector.InjectedAnnotation, PodSidecarInjector.StatusAnnotation, PodSidecarInjector.DefaultContainerAnnotation })
        {
            if (before?.ContainsKey(key) != true)
            {
                annotations.Remove(key);
            }
        }

        if (annotations.Count == 0 && before is null)
        {
            metadata.Remove("annotations");
        }

        Assert.That(JsonNode.DeepEquals(stripped, original), Is.True, $"every original field is kept:\n{stripped}\n---\n{original}");
    }
}
