using System.Globalization;
using System.Text.Json.Nodes;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Kubernetes.Admission.Injection;

/// <summary>
/// The two containers injection adds, as the API server's JSON: <c>sandboxctl-init</c> (the iptables redirect of
/// <c>src/sandboxctl-init/redirect.sh</c>) and <c>sandboxctl-proxy</c> (Envoy with the bootstrap of
/// <see cref="SidecarBootstrap"/> in its arguments). Built once per options; each pod gets a copy.
/// </summary>
internal sealed class SidecarContainers
{
    /// <summary>How long the kubelet waits for a starting proxy: 600 probes a second apart (as Istio's native sidecar).</summary>
    public const int StartupProbeFailureThreshold = 600;

    private readonly JsonObject _init;
    private readonly JsonObject _proxy;
    private readonly JsonObject? _tokenVolume;

    /// <summary>The containers for <paramref name="options"/> (valid options).</summary>
    /// <exception cref="InvalidOperationException">The rendered bootstrap breaks Envoy's rules.</exception>
    public SidecarContainers(SidecarInjectionOptions options)
    {
        var bootstrap = SidecarBootstrap.Build(options);
        var validation = EnvoyBootstrapRenderer.Validate(bootstrap);
        if (!validation.IsValid)
        {
            throw new InvalidOperationException($"The sidecar bootstrap would not be accepted by Envoy: {validation.Violations[0]}");
        }

        BootstrapJson = EnvoyBootstrapRenderer.ToJson(bootstrap).ToJsonString();
        _init = Init(options);
        _proxy = Proxy(options, BootstrapJson);
        if (options.SendsXdsToken)
        {
            _proxy["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = PodSidecarInjector.XdsTokenVolumeName, ["mountPath"] = PodSidecarInjector.XdsTokenDirectory, ["readOnly"] = true });
            _tokenVolume = TokenVolume(options);
        }
    }

    /// <summary>The bootstrap the proxy is started with (<c>--config-yaml</c>; JSON is YAML), node id still <see cref="SidecarBootstrap.NodeIdTemplate"/>.</summary>
    public string BootstrapJson { get; }

    /// <summary>A copy of the init container.</summary>
    public JsonObject InitContainer() => (JsonObject)_init.DeepClone();

    /// <summary>A copy of the proxy container; a native sidecar has <c>restartPolicy: Always</c>.</summary>
    public JsonObject ProxyContainer(bool native)
    {
        var proxy = (JsonObject)_proxy.DeepClone();
        if (native)
        {
            proxy["restartPolicy"] = "Always";
        }

        return proxy;
    }

    /// <summary>A copy of the projected token volume the proxy mounts, or null when proxies send no token.</summary>
    public JsonObject? XdsTokenVolume() => (JsonObject?)_tokenVolume?.DeepClone();

    /// <summary>
    /// The kubelet's projected ServiceAccount token for the control plane's audience, refreshed at 80% of its life; the
    /// file mode is the kubelet's (0644 unless every container runs as one user, and <c>sandboxctl-init</c> runs as root).
    /// </summary>
    private static JsonObject TokenVolume(SidecarInjectionOptions options) => new()
    {
        ["name"] = PodSidecarInjector.XdsTokenVolumeName,
        ["projected"] = new JsonObject
        {
            ["sources"] = new JsonArray(new JsonObject
            {
                ["serviceAccountToken"] = new JsonObject
                {
                    ["audience"] = options.XdsTokenAudience,
                    ["expirationSeconds"] = options.XdsTokenExpirationSeconds,
                    ["path"] = "token",
                },
            }),
        },
    };

    private static JsonObject Init(SidecarInjectionOptions options)
    {
        var args = new JsonArray(
            "-p", Text(options.OutboundCapturePort),
            "-u", Text(options.ProxyUid));
        if (options.ExcludedPortsArgument() is { Length: > 0 } excluded)
        {
            args.Add("-x");
            args.Add(excluded);
        }

        return new JsonObject
        {
            ["name"] = PodSidecarInjector.InitContainerName,
            ["image"] = options.InitImage,
            ["imagePullPolicy"] = "IfNotPresent",
            ["args"] = args,
            ["resources"] = new JsonObject
            {
                ["requests"] = new JsonObject { ["cpu"] = "10m", ["memory"] = "16Mi" },
                ["limits"] = new JsonObject { ["cpu"] = "100m", ["memory"] = "64Mi" },
            },

            // iptables needs root with NET_ADMIN (and NET_RAW for its raw sockets) in the pod's network namespace;
            // nothing else: no privilege escalation, every other capability dropped. The root filesystem stays
            // writable, as Istio's istio-init: iptables-legacy takes its lock in /run/xtables.lock.
            ["securityContext"] = new JsonObject
            {
                ["runAsUser"] = 0,
                ["runAsGroup"] = 0,
                ["runAsNonRoot"] = false,
                ["privileged"] = false,
                ["allowPrivilegeEscalation"] = false,
                ["readOnlyRootFilesystem"] = false,
                ["capabilities"] = new JsonObject { ["add"] = new JsonArray("NET_ADMIN", "NET_RAW"), ["drop"] = new JsonArray("ALL") },
            },
            ["terminationMessagePolicy"] = "FallbackToLogsOnError",
        };
    }

    private static JsonObject Proxy(SidecarInjectionOptions options, string bootstrap)
    {
        var requests = new JsonObject { ["cpu"] = options.ProxyCpuRequest, ["memory"] = options.ProxyMemoryRequest };
        var limits = new JsonObject();
        if (options.ProxyCpuLimit.Length > 0)
        {
            limits["cpu"] = options.ProxyCpuLimit;
        }

        if (options.ProxyMemoryLimit.Length > 0)
        {
            limits["memory"] = options.ProxyMemoryLimit;
        }

        var resources = new JsonObject { ["requests"] = requests };
        if (limits.Count > 0)
        {
            resources["limits"] = limits;
        }

        return new JsonObject
        {
            ["name"] = PodSidecarInjector.ProxyContainerName,
            ["image"] = options.ProxyImage,
            ["imagePullPolicy"] = "IfNotPresent",

            // Kubernetes expands $(POD_NAME) and $(POD_NAMESPACE) in the arguments from the env below, so the node
            // id in the bootstrap is <pod>.<namespace>, unique per pod (the name is empty at admission for pods made
            // from generateName, so only the kubelet knows it). Hot restart is of no use in a pod.
            ["args"] = new JsonArray("--config-yaml", bootstrap, "--disable-hot-restart", "--log-level", "warning"),
            ["env"] = new JsonArray(
                FieldRef("POD_NAME", "metadata.name"),
                FieldRef("POD_NAMESPACE", "metadata.namespace"),
                FieldRef("POD_IP", "status.podIP")),
            ["resources"] = resources,

            // The admin interface listens on 127.0.0.1 only (the kubelet cannot reach it); the bootstrap's probe
            // listener on every address forwards GET /ready to it. /ready answers 200 once Envoy is LIVE, that is
            // after its first listeners and clusters arrived from the control plane.
            ["startupProbe"] = Probe(options.ProbePort, periodSeconds: 1, failureThreshold: StartupProbeFailureThreshold),
            ["readinessProbe"] = Probe(options.ProbePort, periodSeconds: 5, failureThreshold: 3),
            ["securityContext"] = new JsonObject
            {
                ["runAsUser"] = options.ProxyUid,
                ["runAsGroup"] = options.ProxyUid,
                ["runAsNonRoot"] = true,
                ["privileged"] = false,
                ["allowPrivilegeEscalation"] = false,
                ["readOnlyRootFilesystem"] = true,
                ["capabilities"] = new JsonObject { ["drop"] = new JsonArray("ALL") },
            },
            ["terminationMessagePolicy"] = "FallbackToLogsOnError",
        };
    }

    private static JsonObject FieldRef(string name, string field) => new()
    {
        ["name"] = name,
        ["valueFrom"] = new JsonObject { ["fieldRef"] = new JsonObject { ["apiVersion"] = "v1", ["fieldPath"] = field } },
    };

    private static JsonObject Probe(int port, int periodSeconds, int failureThreshold) => new()
    {
        ["httpGet"] = new JsonObject { ["path"] = "/ready", ["port"] = port, ["scheme"] = "HTTP" },
        ["periodSeconds"] = periodSeconds,
        ["timeoutSeconds"] = 1,
        ["failureThreshold"] = failureThreshold,
    };

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
