using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace XdsControlPlane.Kubernetes.Admission.Injection;

/// <summary>
/// The sidecar injector (<c>pods</c>, CREATE only): adds <c>sandboxctl-init</c> (iptables redirect of outbound TCP to
/// the proxy) and <c>sandboxctl-proxy</c> (Envoy as a sidecar, native or regular) to every pod the webhook receives,
/// unless the pod opts out (<c>sandboxctl.io/inject: "false"</c>, label or annotation), is already injected, or uses
/// the host's network. Which pods reach the webhook is the webhook configuration's choice (namespace label
/// <c>sandboxctl.io/inject=enabled</c>, pod label <c>sandboxctl.io/inject=true</c>); with
/// <see cref="SidecarInjectionOptions.RequireExplicitOptIn"/> only pods that say <c>true</c> are injected.
/// Pure: the verdict depends on the request and the options only. See docs/sidecar-injection.md.
/// </summary>
public sealed class PodSidecarInjector : IAdmissionReviewer
{
    /// <summary>The label or annotation that opts a pod in (<c>true</c>) or out (<c>false</c>); on a namespace, <c>enabled</c>.</summary>
    public const string InjectKey = "sandboxctl.io/inject";

    /// <summary>The annotation that records injection and the injector's version.</summary>
    public const string InjectedAnnotation = "sandboxctl.io/injected";

    /// <summary>The annotation that lists what injection added (JSON).</summary>
    public const string StatusAnnotation = "sandboxctl.io/injection-status";

    /// <summary>The per-pod override of native sidecars (<c>true</c> or <c>false</c>).</summary>
    public const string NativeSidecarAnnotation = "sandboxctl.io/native-sidecar";

    /// <summary>The annotation kubectl reads to pick the container of <c>logs</c> and <c>exec</c>.</summary>
    public const string DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container";

    /// <summary>The init container that installs the redirect.</summary>
    public const string InitContainerName = "sandboxctl-init";

    /// <summary>The proxy container.</summary>
    public const string ProxyContainerName = "sandboxctl-proxy";

    /// <summary>The projected volume of the ServiceAccount token the proxy sends on its xDS stream (<see cref="SidecarInjectionOptions.XdsTokenAudience"/>).</summary>
    public const string XdsTokenVolumeName = "sandboxctl-xds-token";

    /// <summary>Where the proxy container mounts <see cref="XdsTokenVolumeName"/> (read-only).</summary>
    public const string XdsTokenDirectory = "/var/run/secrets/sandboxctl.io/xds-token";

    /// <summary>The token file the proxy's bootstrap names: <see cref="XdsTokenDirectory"/>/token.</summary>
    public const string XdsTokenFile = XdsTokenDirectory + "/token";

    private readonly SidecarInjectionOptions _options;
    private readonly SidecarContainers _containers;

    /// <summary>An injector for <paramref name="options"/>, which must be valid (<see cref="SidecarInjectionOptions.Validate"/>).</summary>
    /// <exception cref="ArgumentException">The options are not valid.</exception>
    public PodSidecarInjector(IOptions<SidecarInjectionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        if (_options.Validate().FirstOrDefault() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        _containers = new SidecarContainers(_options);
    }

    /// <inheritdoc />
    public string Resource => "pods";

    /// <inheritdoc />
    public string Group => "";

    /// <summary>The proxy's bootstrap (JSON) as injected, its node id still the <c>$(POD_NAME).$(POD_NAMESPACE)</c> the kubelet expands.</summary>
    public string BootstrapJson => _containers.BootstrapJson;

    /// <inheritdoc />
    public AdmissionVerdict Review(AdmissionSubject request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Operation != "CREATE")
        {
            return AdmissionVerdict.Unchanged($"{request.Operation}: only pods being created are injected");
        }

        if (request.SubResource is { Length: > 0 } subResource)
        {
            return AdmissionVerdict.Unchanged($"pods/{subResource}: only pods themselves are injected");
        }

        PodShape pod;
        try
        {
            pod = PodShape.Read(request.Incoming);
        }
        catch (MalformedPodException e)
        {
            return AdmissionVerdict.Refused(400, $"the pod cannot be read for sidecar injection: {e.Message}");
        }

        return Decide(pod);
    }

    private AdmissionVerdict Decide(PodShape pod)
    {
        var warnings = new List<string>();
        var choice = Choice(pod, InjectKey, warnings);
        if (choice == false)
        {
            return AdmissionVerdict.Unchanged($"opted out ({InjectKey}: \"false\")");
        }

        if (choice is null && _options.RequireExplicitOptIn)
        {
            return AdmissionVerdict.Unchanged($"not opted in ({InjectKey}: \"true\" is required)") with { Warnings = warnings };
        }

        if (pod.Containers.Concat(pod.InitContainers ?? []).FirstOrDefault(c => c.Name is ProxyContainerName or InitContainerName) is { } existing)
        {
            return AdmissionVerdict.Unchanged($"already injected ({existing.Path} is {existing.Name})");
        }

        if (pod.HostNetwork)
        {
            return AdmissionVerdict.Unchanged("spec.hostNetwork is true: redirecting the node's own traffic is never done")
                with { Warnings = [.. warnings, $"sidecar injection skipped: the pod uses the host's network ({InjectKey}: \"false\" silences this)"] };
        }

        var reserved = new[] { _options.OutboundCapturePort, _options.AdminPort, _options.ProbePort };
        var clash = pod.Containers.Concat(pod.InitContainers ?? []).SelectMany(c => c.Ports).FirstOrDefault(p => reserved.Contains((int)Math.Clamp(p.Port, 0, 65536)));
        if (clash.Path is not null)
        {
            return AdmissionVerdict.Refused(
                422,
                $"{clash.Path}: port {clash.Port.ToString(CultureInfo.InvariantCulture)} is the sidecar proxy's ({string.Join(", ", reserved.Select(p => p.ToString(CultureInfo.InvariantCulture)))} are reserved); "
                + $"move the port or opt the pod out of injection with the annotation {InjectKey}: \"false\"");
        }

        if (_options.SendsXdsToken && pod.Volumes?.FirstOrDefault(v => v.Name == XdsTokenVolumeName) is { Path: not null } taken)
        {
            return AdmissionVerdict.Refused(
                422,
                $"{taken.Path}: the volume name {XdsTokenVolumeName} is the sidecar proxy's (its xDS ServiceAccount token); "
                + $"rename the volume or opt the pod out of injection with the annotation {InjectKey}: \"false\"");
        }

        var native = NativeSidecar(pod, warnings);
        AddWarnings(pod, native, warnings);
        var patch = Patch(pod, native);
        var how = native ? "as a native sidecar (init container with restartPolicy: Always)" : "as a regular container";
        return AdmissionVerdict.Patched(patch, $"sidecar injected {how}") with { Warnings = warnings };
    }

    private bool NativeSidecar(PodShape pod, List<string> warnings) =>
        Choice(pod, NativeSidecarAnnotation, warnings, labels: false) ?? _options.UsesNativeSidecar;

    private void AddWarnings(PodShape pod, bool native, List<string> warnings)
    {
        if (!native && pod.RestartPolicy != "Always")
        {
            warnings.Add($"the sidecar proxy is a regular container, so this pod (restartPolicy {pod.RestartPolicy}) never completes while it runs; native sidecars (Kubernetes 1.29+, {NativeSidecarAnnotation}: \"true\") end with the pod");
        }

        var proxyUser = pod.Containers.Concat(pod.InitContainers ?? []).FirstOrDefault(c => (c.RunAsUser ?? pod.RunAsUser) == _options.ProxyUid);
        if (proxyUser is not null)
        {
            warnings.Add($"{proxyUser.Path} runs as user {_options.ProxyUid.ToString(CultureInfo.InvariantCulture)}, the proxy's: its outbound traffic bypasses the proxy");
        }

        if (!native && pod.InitContainers is { Count: > 0 })
        {
            warnings.Add("the pod's init containers run after the redirect is installed but before the proxy starts (it is a regular container): their outbound TCP connections are refused unless they run as the proxy's user or go to excluded ports");
        }
    }

    /// <summary><c>true</c>/<c>false</c> from the annotation (or the label), an annotation or label saying <c>false</c> winning; null when neither says.</summary>
    private static bool? Choice(PodShape pod, string key, List<string> warnings, bool labels = true)
    {
        var said = new List<bool>();
        foreach (var (where, map) in new[] { ("annotation", pod.Annotations), ("label", labels ? pod.Labels : null) })
        {
            if (map is null || !map.TryGetValue(key, out var value))
            {
                continue;
            }

            if (string.Equals(value, "true", StringComparison.OrdinalIgnoreCase))
            {
                said.Add(true);
            }
            else if (string.Equals(value, "false", StringComparison.OrdinalIgnoreCase))
            {
                said.Add(false);
            }
            else
            {
                warnings.Add($"the {where} {key}: \"{Shown(value)}\" is neither \"true\" nor \"false\", so it was ignored");
            }
        }

        return said.Count == 0 ? null : said.All(v => v);
    }

    private JsonArray Patch(PodShape pod, bool native)
    {
        var patch = new JsonArray();
        var init = _containers.InitContainer();
        var initAdded = new List<string> { InitContainerName };
        if (pod.InitContainers is null)
        {
            var array = new JsonArray(init);
            if (native)
            {
                array.Add(_containers.ProxyContainer(native: true));
                initAdded.Add(ProxyContainerName);
            }

            patch.Add(Op("add", "/spec/initContainers", array));
        }
        else
        {
            // Before the pod's own init containers: they then run with the redirect in place, and (native) with a
            // proxy that is ready (the kubelet waits for a restartable init container's startup probe).
            patch.Add(Op("add", "/spec/initContainers/0", init));
            if (native)
            {
                patch.Add(Op("add", "/spec/initContainers/1", _containers.ProxyContainer(native: true)));
                initAdded.Add(ProxyContainerName);
            }
        }

        var status = new JsonObject
        {
            ["version"] = SidecarInjectionOptions.InjectorVersion,
            ["initContainers"] = new JsonArray([.. initAdded.Select(n => (JsonNode)n)]),
            ["containers"] = native ? new JsonArray() : new JsonArray(ProxyContainerName),
            ["nativeSidecar"] = native,
        };
        if (_containers.XdsTokenVolume() is { } volume)
        {
            // Added whatever automountServiceAccountToken says (that is about the API server's token): this one's
            // audience is the control plane's, so the API server refuses it (docs/sidecar-injection.md).
            patch.Add(pod.Volumes is null ? Op("add", "/spec/volumes", new JsonArray(volume)) : Op("add", "/spec/volumes/-", volume));
            status["volumes"] = new JsonArray(XdsTokenVolumeName);
        }

        var annotations = new Dictionary<string, string>
        {
            [InjectedAnnotation] = SidecarInjectionOptions.InjectorVersion,
            [StatusAnnotation] = status.ToJsonString(),
        };
        if (!native)
        {
            // Kubernetes starts containers in order: the proxy first. kubectl logs/exec pick the first container
            // unless told otherwise, so point them at the application's (unless the pod already chose one).
            patch.Add(Op("add", "/spec/containers/0", _containers.ProxyContainer(native: false)));
            if (pod.Annotations?.ContainsKey(DefaultContainerAnnotation) != true && pod.Containers[0].Name.Length > 0)
            {
                annotations[DefaultContainerAnnotation] = pod.Containers[0].Name;
            }
        }

        if (!pod.HasMetadata)
        {
            patch.Add(Op("add", "/metadata", new JsonObject { ["annotations"] = Map(annotations) }));
        }
        else if (pod.Annotations is null)
        {
            patch.Add(Op("add", "/metadata/annotations", Map(annotations)));
        }
        else
        {
            foreach (var (key, value) in annotations)
            {
                patch.Add(Op("add", $"/metadata/annotations/{Escape(key)}", value));
            }
        }

        return patch;
    }

    /// <summary>A JSON pointer reference token (RFC 6901): <c>~</c> as <c>~0</c>, <c>/</c> as <c>~1</c>.</summary>
    internal static string Escape(string token) => token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static JsonObject Map(Dictionary<string, string> values)
    {
        var map = new JsonObject();
        foreach (var (key, value) in values)
        {
            map[key] = value;
        }

        return map;
    }

    private static JsonObject Op(string op, string path, JsonNode value) => new() { ["op"] = op, ["path"] = path, ["value"] = value };

    private static string Shown(string text) => text.Length > 40 ? text[..40] + "…" : text;
}
