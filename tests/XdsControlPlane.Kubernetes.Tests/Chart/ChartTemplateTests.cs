using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using XdsControlPlane.Kubernetes.Admission.Injection;
using XdsControlPlane.Server;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Kubernetes.Tests.Chart;

/// <summary>The static parts of the chart's templates against the code they configure: the server's flags, its drain, the webhook's wiring and the gateway's bootstrap.</summary>
public sealed class ChartTemplateTests
{
    private static readonly HelmChart Chart = HelmChart.Load();

    [Test]
    public void EveryTemplate_HasStaticKubernetesObjects()
    {
        Assert.Multiple(() =>
        {
            foreach (var template in Chart.Templates)
            {
                Assert.That(template.Documents, Is.Not.Empty, template.Name);
                foreach (var document in template.Documents)
                {
                    Assert.That((string?)document.Json["apiVersion"], Is.Not.Null.And.Not.Empty, $"{template.Name}: {document.Kind} {document.Name}");
                    Assert.That(document.Kind, Is.Not.Empty, template.Name);
                    Assert.That(document.Name, Is.Not.Empty, $"{template.Name}: a {document.Kind} without a static name");
                }
            }
        });
    }

    [Test]
    public void ControlPlaneArgs_AreTheServersFlags()
    {
        var known = ServerCommandLine.Build((_, _) => Task.FromResult(0)).Options.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var args = Server()["args"]!.AsArray().Select(a => ((string)a!).Split('=')[0]).ToArray();
        Assert.That(args.Where(a => !known.Contains(a)), Is.Empty, "flags the server does not have");
    }

    [Test]
    public void ControlPlaneArgs_PassThePreviewValues_OnlyWithADomain()
    {
        var deployment = Chart.TemplateTexts["deployment.yaml"];
        var block = deployment[deployment.IndexOf("{{- if .Values.previews.domain }}", StringComparison.Ordinal)..];
        block = block[..(block.IndexOf("{{- end }}\n        {{- if", StringComparison.Ordinal) is var end and > 0 ? end : block.Length)];
        Assert.Multiple(() =>
        {
            Assert.That(block, Does.Contain("- --preview-domain={{ .Values.previews.domain }}"));
            Assert.That(block, Does.Contain("{{- with .Values.previews.salt }}\n        - --preview-salt={{ . }}"), "an empty salt passes no flag");
            Assert.That(block, Does.Contain("- --preview-rate-limit={{ .Values.previews.rateLimit }}"));
            Assert.That((string?)Chart.Values["previews"]!["domain"], Is.Empty, "previews are off by default");
            Assert.That((string?)Chart.Values["previews"]!["rateLimit"], Is.EqualTo("50/100"), "the server's default");
        });
    }

    [Test]
    public void ControlPlane_GraceOutlastsTheServersDrain_ProbesAndHardening()
    {
        var host = new InProcessServer().Create();
        TimeSpan drain;
        try
        {
            drain = host.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
        }
        finally
        {
            host.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        var (template, deployment) = Chart.Find("Deployment", "xds-control-plane");
        var pod = deployment.Json["spec"]!["template"]!["spec"]!;
        var server = Server();
        Assert.Multiple(() =>
        {
            Assert.That(template.Action((string?)pod["terminationGracePeriodSeconds"]), Is.EqualTo(".Values.terminationGracePeriodSeconds"));
            Assert.That((long)Chart.Values["terminationGracePeriodSeconds"]!, Is.GreaterThan(drain.TotalSeconds + 5));
            Assert.That((long)Chart.Schema["properties"]!["terminationGracePeriodSeconds"]!["minimum"]!, Is.GreaterThan(drain.TotalSeconds), "the schema lets no grace shorter than the drain through");
            Assert.That((string?)server["readinessProbe"]!["httpGet"]!["path"], Is.EqualTo("/readyz"));
            Assert.That((string?)server["livenessProbe"]!["httpGet"]!["path"], Is.EqualTo("/healthz"));
            Assert.That((bool?)pod["securityContext"]!["runAsNonRoot"], Is.True);
            Assert.That((string?)pod["securityContext"]!["seccompProfile"]!["type"], Is.EqualTo("RuntimeDefault"));
            Assert.That((bool?)server["securityContext"]!["readOnlyRootFilesystem"], Is.True);
            Assert.That((bool?)server["securityContext"]!["allowPrivilegeEscalation"], Is.False);
            Assert.That(server["securityContext"]!["capabilities"]!["drop"]!.AsArray().Select(c => (string?)c), Is.EqualTo(new[] { "ALL" }));
            Assert.That(pod["topologySpreadConstraints"]!.AsArray(), Has.Count.EqualTo(2));
            Assert.That(ByteSize.TryParse((string)Chart.Values["resources"]!["limits"]!["memory"]!, out var limit) && limit >= 1024L * 1024 * 1024, Is.True, "the limit covers the 10,000-RouteGroup peak (578 MiB) with room for churn");
        });
    }

    [Test]
    public void Webhook_IsWiredToTheServersListener_AndSelectsOptIns()
    {
        var (template, configuration) = Chart.Find("MutatingWebhookConfiguration", "sandboxctl-injector");
        var service = Chart.Find("Service", "xds-control-plane-webhook").Document.Json;
        var args = Server()["args"]!.AsArray().Select(a => (string)a!).ToArray();
        var webhooks = configuration.Json["webhooks"]!.AsArray().Select(w => w!.AsObject()).ToArray();
        var pods = webhooks.Where(w => (string?)w["rules"]![0]!["resources"]![0] == "pods").ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(args, Does.Contain($"--webhook-configuration={configuration.Name}"));
            Assert.That(args, Does.Contain($"--webhook-service={service["metadata"]!["name"]}"));
            Assert.That((string?)service["spec"]!["ports"]![0]!["targetPort"], Is.EqualTo("https-webhook"));
            Assert.That(Server()["ports"]!.AsArray().Select(p => (string?)p!["name"]), Does.Contain("https-webhook"));
            Assert.That(webhooks.Select(w => (string?)w["name"]), Is.EqualTo(new[] { "namespace.inject.sandboxctl.io", "pod.inject.sandboxctl.io", "sandboxes.sandboxctl.io" }));
            foreach (var webhook in webhooks)
            {
                var name = (string?)webhook["name"];
                Assert.That(webhook["admissionReviewVersions"]!.AsArray().Select(v => (string?)v), Is.EqualTo(new[] { "v1" }), name);
                Assert.That((string?)webhook["sideEffects"], Is.EqualTo("None"), name);
                Assert.That(template.Action((string?)webhook["failurePolicy"]), Is.EqualTo(".Values.webhook.failurePolicy"), name);
                Assert.That(template.Action((string?)webhook["timeoutSeconds"]), Is.EqualTo(".Values.webhook.timeoutSeconds"), name);
                Assert.That((string?)webhook["clientConfig"]!["service"]!["name"], Is.EqualTo((string?)service["metadata"]!["name"]), name);
                Assert.That((string?)webhook["clientConfig"]!["service"]!["path"], Is.EqualTo("/inject"), name);
                Assert.That((long?)webhook["clientConfig"]!["service"]!["port"], Is.EqualTo((long?)service["spec"]!["ports"]![0]!["port"]), name);
            }

            foreach (var webhook in pods)
            {
                var name = (string?)webhook["name"];
                var excluded = webhook["namespaceSelector"]!["matchExpressions"]!.AsArray().Single(e => (string?)e!["key"] == "kubernetes.io/metadata.name")!;
                Assert.That((string?)webhook["reinvocationPolicy"], Is.EqualTo("IfNeeded"), name);
                Assert.That((string?)excluded["operator"], Is.EqualTo("NotIn"), name);
                Assert.That(excluded["values"]!.AsArray().Select(v => template.Action((string?)v)), Is.SupersetOf(new[] { ".Release.Namespace", "kube-system" }), name);
                Assert.That(webhook["rules"]![0]!["operations"]!.AsArray().Select(o => (string?)o), Is.EqualTo(new[] { "CREATE" }), name);
            }

            // Opt in by namespace label (every pod but those labelled false) or by pod label (in the other namespaces).
            Assert.That(Selector(pods[0], "namespaceSelector"), Does.Contain("sandboxctl.io/inject In enabled"));
            Assert.That(Selector(pods[0], "objectSelector"), Is.EqualTo(new[] { "sandboxctl.io/inject NotIn false" }));
            Assert.That(Selector(pods[1], "namespaceSelector"), Does.Contain("sandboxctl.io/inject NotIn enabled"));
            Assert.That(Selector(pods[1], "objectSelector"), Is.EqualTo(new[] { "sandboxctl.io/inject In true" }));
            Assert.That(webhooks[2]["rules"]![0]!["operations"]!.AsArray().Select(o => (string?)o), Is.EqualTo(new[] { "CREATE", "UPDATE" }));
            Assert.That(webhooks[2]["rules"]![0]!["apiGroups"]!.AsArray().Select(o => (string?)o), Is.EqualTo(new[] { "sandboxctl.io" }));
            Assert.That(webhooks[2]["rules"]![0]!["resources"]!.AsArray().Select(o => (string?)o), Is.EqualTo(new[] { "sandboxes", "localworkloads", "previewgrants" }), "the creator of a Sandbox, of a LocalWorkload and of a PreviewGrant");
        });
    }

    [TestCase("gateway-bootstrap.yaml", false, false)]
    [TestCase("gateway-bootstrap-tls.yaml", true, false)]
    [TestCase("gateway-bootstrap-token.yaml", true, true)]
    public void GatewayBootstrap_IsTheRenderersOutput(string name, bool tls, bool token)
    {
        var file = Path.Combine(Chart.Directory, "files", name);
        var rendered = EnvoyBootstrapRenderer.ToYaml(EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest
        {
            Role = DataPlaneRoles.Gateway,
            XdsHost = "__XDS_HOST__",
            XdsPort = 18000,
            Tls = tls ? new XdsTlsFiles("/etc/sandboxctl/xds-ca/ca.crt", ServerName: "__XDS_HOST__") { TokenFile = token ? GatewayTokenFile : null } : null,
        }));
        Assert.That(rendered.Split("port_value: 18000"), Has.Length.EqualTo(2), "the xDS port appears once in the cluster");
        Assert.That(rendered.Split("__XDS_HOST__:18000"), Has.Length.EqualTo(token ? 2 : 1), "and once in the Google gRPC target, with a token");
        var expected = rendered.Replace("port_value: 18000", "port_value: __XDS_PORT__", StringComparison.Ordinal)
            .Replace("__XDS_HOST__:18000", "__XDS_HOST__:__XDS_PORT__", StringComparison.Ordinal);
        if (Prerequisite.RewriteRequested("UPDATE_CHART"))
        {
            File.WriteAllText(file, expected);
            Assert.Ignore($"rewrote {file}");
        }

        var gateway = Chart.TemplateTexts["gateway.yaml"];
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(file), Is.EqualTo(expected), $"{file} drifted from EnvoyBootstrapRenderer; run UPDATE_CHART=1 dotnet test tests/XdsControlPlane.Kubernetes.Tests --filter GatewayBootstrap and review the diff");
            Assert.That(gateway, Does.Contain("replace \"__XDS_HOST__\" (printf \"xds-control-plane.%s.svc\" .Release.Namespace)"));
            Assert.That(gateway, Does.Contain("replace \"__XDS_PORT__\" (toString .Values.ports.xds)"));
            Assert.That(gateway, Does.Contain($"\"files/{name}\""));
        });
    }

    [Test]
    public void ListenerTls_SecretsReachTheServersFlags_AndTheCaReachesTheInjectorAndTheGateway()
    {
        var (template, deployment) = Chart.Find("Deployment", "xds-control-plane");
        var args = Server()["args"]!.AsArray().Select(a => (string)a!).ToArray();
        string Arg(string flag) => args.Single(a => a.StartsWith(flag + "=", StringComparison.Ordinal))[(flag.Length + 1)..];
        var volumes = deployment.Json["spec"]!["template"]!["spec"]!["volumes"]!.AsArray();
        var xdsCa = volumes.Single(v => (string?)v!["name"] == "xds-ca")!;
        var (gatewayTemplate, gateway) = Chart.Find("Deployment", "sandboxctl-gateway");
        var gatewayCa = gateway.Json["spec"]!["template"]!["spec"]!["volumes"]!.AsArray().Single(v => (string?)v!["name"] == "xds-ca")!;
        var xds = Chart.Values["listenerTls"]!["xds"]!;
        Assert.Multiple(() =>
        {
            Assert.That(Arg("--xds-tls-secret").Split('/').Select(template.Action), Is.EqualTo(new[] { ".Release.Namespace", ".Values.listenerTls.xds.secretName" }));
            Assert.That(template.Action(Arg("--xds-tls-client-certs")), Is.EqualTo(".Values.listenerTls.xds.clientCertificates"));
            Assert.That(template.Action(Arg("--xds-trust-domain")), Is.EqualTo(".Values.listenerTls.xds.trustDomain"));
            Assert.That(template.Action(args.First(a => a.StartsWith("--xds-role-identity=", StringComparison.Ordinal))[20..]), Is.EqualTo("."), "one flag per grant");
            Assert.That(template.Action(Arg("--xds-token-review")), Is.EqualTo(".Values.listenerTls.xds.tokenReview"));
            Assert.That(template.Action(Arg("--xds-token-audience")), Is.EqualTo(".Values.listenerTls.xds.tokenAudience"));
            Assert.That(((string?)xds["tokenReview"], (string?)xds["tokenAudience"]), Is.EqualTo(("off", "sandboxctl-xds")), "token review off by default; the server's default audience");
            Assert.That(Arg("--tunnel-tls-secret").Split('/').Select(template.Action), Is.EqualTo(new[] { ".Release.Namespace", ".Values.listenerTls.tunnel.secretName" }));
            Assert.That(template.Action(Arg("--tunnel-tls-client-certs")), Is.EqualTo(".Values.listenerTls.tunnel.clientCertificates"));
            Assert.That(Arg("--inject-xds-ca-file"), Is.EqualTo("/etc/sandboxctl/xds-ca/ca.crt"));
            foreach (var (t, volume) in new[] { (template, xdsCa), (gatewayTemplate, gatewayCa) })
            {
                Assert.That(t.Action((string?)volume["secret"]!["secretName"]), Is.EqualTo(".Values.listenerTls.xds.secretName"));
                Assert.That(volume["secret"]!["items"]!.AsArray().Select(i => (string?)i!["key"]), Is.EqualTo(new[] { "ca.crt" }), "only the CA of the Secret is mounted, never its key");
            }

            Assert.That(((string?)xds["secretName"], (string?)xds["clientCertificates"], (string?)xds["trustDomain"]), Is.EqualTo(("", "off", "cluster.local")), "plaintext by default");
            Assert.That((string?)Chart.Values["listenerTls"]!["tunnel"]!["secretName"], Is.Empty);
        });
    }

    [Test]
    public void TokenReview_TheGatewaySendsItsProjectedToken_AndItsServiceAccountIsGrantedTheGatewayRole()
    {
        var (template, gateway) = Chart.Find("Deployment", "sandboxctl-gateway");
        var pod = gateway.Json["spec"]!["template"]!["spec"]!;
        var volume = pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == "xds-token")!;
        var token = volume["projected"]!["sources"]![0]!["serviceAccountToken"]!;
        var mount = pod["containers"]![0]!["volumeMounts"]!.AsArray().Single(m => (string?)m!["name"] == "xds-token")!;
        var serviceAccount = Chart.Find("ServiceAccount", "sandboxctl-gateway").Document.Json;
        var controlPlane = Chart.Find("Deployment", "xds-control-plane").Template;
        var grants = Server()["args"]!.AsArray().Select(a => (string)a!).Where(a => a.StartsWith("--xds-role-identity=", StringComparison.Ordinal)).Select(a => a[20..]).ToArray();
        var gatewayYaml = Chart.TemplateTexts["gateway.yaml"];
        var bootstrap = File.ReadAllText(Path.Combine(Chart.Directory, "files", "gateway-bootstrap-token.yaml"));
        Assert.Multiple(() =>
        {
            Assert.That((string?)pod["serviceAccountName"], Is.EqualTo(serviceAccount["metadata"]!["name"]!.GetValue<string>()));
            Assert.That(((bool?)pod["automountServiceAccountToken"], (bool?)serviceAccount["automountServiceAccountToken"]), Is.EqualTo(((bool?)false, (bool?)false)), "the gateway never calls the API server");
            Assert.That(template.Action((string?)token["audience"]), Is.EqualTo(".Values.listenerTls.xds.tokenAudience | quote"));
            Assert.That(((long?)token["expirationSeconds"], (string?)token["path"]), Is.EqualTo(((long?)SidecarInjectionOptions.DefaultXdsTokenExpirationSeconds, "token")), "as the injector's");
            Assert.That(((string?)mount["mountPath"], (bool?)mount["readOnly"]), Is.EqualTo((Path.GetDirectoryName(GatewayTokenFile), (bool?)true)));
            Assert.That(bootstrap, Does.Contain($"filename: {GatewayTokenFile}"), "the bootstrap names the mounted file");
            Assert.That(gatewayYaml, Does.Contain("{{- $token := and .Values.listenerTls.xds.secretName (ne .Values.listenerTls.xds.tokenReview \"off\") }}"), "a token over TLS only");
            Assert.That(gatewayYaml, Does.Contain("{{- $bootstrap = \"files/gateway-bootstrap-token.yaml\" }}"));
            Assert.That(grants.Where(g => g.StartsWith("gateway=", StringComparison.Ordinal)).Select(g => g[8..].Split('/').Select(controlPlane.Action)), Has.One.EqualTo(new[] { ".Release.Namespace", "sandboxctl-gateway" }));
            Assert.That(grants, Is.SupersetOf(new[] { "sidecar=*/*", "grpc=*/*" }), "the defaults a grant would replace are kept");
        });
    }

    [Test]
    public void Gateway_ListensWhereTheControlPlanePublishes()
    {
        var (template, deployment) = Chart.Find("Deployment", "sandboxctl-gateway");
        var envoy = deployment.Json["spec"]!["template"]!["spec"]!["containers"]![0]!;
        var env = Server()["env"]!.AsArray().Single(e => (string?)e!["name"] == "XDSCP_Translation__GatewayPort")!;
        var controlPlane = Chart.Find("Deployment", "xds-control-plane").Template;
        Assert.Multiple(() =>
        {
            Assert.That(template.Action((string?)envoy["ports"]![0]!["containerPort"]), Is.EqualTo(".Values.gateway.listenerPort"));
            Assert.That(controlPlane.Action((string?)env["value"]), Is.EqualTo(".Values.gateway.listenerPort | quote"));
            Assert.That((long)Chart.Values["gateway"]!["listenerPort"]!, Is.EqualTo(new TranslationOptions().GatewayPort), "the default is the translation's");
            Assert.That(envoy["args"]!.AsArray().Select(a => (string?)a), Does.Contain("--service-node").And.Contain("$(POD_NAME)"), "each pod its own node id");
            Assert.That((string?)deployment.Json["spec"]!["template"]!["metadata"]!["labels"]!["sandboxctl.io/inject"], Is.EqualTo("false"));
        });
    }

    [Test]
    public void GatewayHttps_ServiceMapsTheServicePortToTheListenerTheControlPlanePublishes()
    {
        var (template, deployment) = Chart.Find("Deployment", "sandboxctl-gateway");
        var ports = deployment.Json["spec"]!["template"]!["spec"]!["containers"]![0]!["ports"]!.AsArray();
        var service = Chart.Find("Service", "sandboxctl-gateway").Document.Json["spec"]!["ports"]!.AsArray();
        var https = service.Single(p => (string?)p!["name"] == "https")!;
        var controlPlane = Chart.Find("Deployment", "xds-control-plane").Template;
        string Arg(string flag) => Server()["args"]!.AsArray().Select(a => (string)a!).Single(a => a.StartsWith(flag + "=", StringComparison.Ordinal))[(flag.Length + 1)..];
        var tls = Chart.Values["gateway"]!["tls"]!;
        Assert.Multiple(() =>
        {
            Assert.That(template.Action((string?)ports.Single(p => (string?)p!["name"] == "https")!["containerPort"]), Is.EqualTo(".Values.gateway.tls.httpsPort"));
            Assert.That(template.Action((string?)https["port"]), Is.EqualTo(".Values.gateway.tls.servicePort"));
            Assert.That((string?)https["targetPort"], Is.EqualTo("https"));
            Assert.That(controlPlane.Action(Arg("--gateway-https-port")), Is.EqualTo(".Values.gateway.tls.httpsPort"));
            Assert.That(Arg("--gateway-tls-secret").Split('/').Select(controlPlane.Action), Is.EqualTo(new[] { ".Release.Namespace", ".Values.gateway.tls.secretName" }));
            Assert.That((long)tls["httpsPort"]!, Is.EqualTo(new TranslationOptions().GatewayHttpsPort), "the default is the translation's");
            Assert.That(((long)tls["servicePort"]!, (string?)tls["secretName"], (bool)tls["certManager"]!["enabled"]!), Is.EqualTo((443L, "", false)), "HTTPS and cert-manager are off by default");
        });
    }

    /// <summary>Where the chart's gateway reads its projected token: the same path as an injected proxy's.</summary>
    private const string GatewayTokenFile = PodSidecarInjector.XdsTokenFile;

    private static JsonNode Server() =>
        Chart.Find("Deployment", "xds-control-plane").Document.Json["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Single(c => (string?)c!["name"] == "server")!;

    private static string[] Selector(JsonObject webhook, string selector) =>
        [.. webhook[selector]!["matchExpressions"]!.AsArray().Select(e => $"{e!["key"]} {e["operator"]} {string.Join(",", e["values"]!.AsArray().Select(v => (string?)v))}")];
}
