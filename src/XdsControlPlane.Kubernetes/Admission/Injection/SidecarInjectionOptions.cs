using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace XdsControlPlane.Kubernetes.Admission.Injection;

/// <summary>Whether the proxy is injected as a Kubernetes native sidecar (an init container with <c>restartPolicy: Always</c>).</summary>
public enum NativeSidecarMode
{
    /// <summary>Native when <see cref="SidecarInjectionOptions.ClusterMinorVersion"/> is at least 1.33 (GA), otherwise a regular container.</summary>
    Auto,

    /// <summary>Always native (the cluster's kubelets must be 1.29 or later with the SidecarContainers feature on).</summary>
    Always,

    /// <summary>Always a regular container.</summary>
    Never,
}

/// <summary>
/// What the sidecar injector (<see cref="PodSidecarInjector"/>) adds to a pod: images, the control plane's xDS address,
/// the proxy's user and ports, the ports whose traffic is not redirected, native or regular sidecar, and the proxy's
/// resources. Bound from the configuration section <see cref="Section"/>; <see cref="Validate"/> names each bad field.
/// </summary>
public sealed partial class SidecarInjectionOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string Section = "Injection";

    /// <summary>The Kubernetes minor version from which <see cref="NativeSidecarMode.Auto"/> injects native sidecars (GA in 1.33).</summary>
    public const int NativeSidecarGaMinor = 33;

    /// <summary>The most ports or ranges <see cref="ExcludedOutboundPorts"/> may hold.</summary>
    public const int MaxExcludedPorts = 64;

    /// <summary>This build's version (the assembly's informational version without build metadata).</summary>
    public static string InjectorVersion { get; } =
        (typeof(SidecarInjectionOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    /// <summary>The Envoy image of the proxy container.</summary>
    public string ProxyImage { get; set; } = "envoyproxy/envoy:v1.39.6";

    /// <summary>The image of the <c>sandboxctl-init</c> container (<c>src/sandboxctl-init</c>); the default is a placeholder to override with your registry's.</summary>
    public string InitImage { get; set; } = $"ghcr.io/sandboxctl/sandboxctl-init:{InjectorVersion}";

    /// <summary>The control plane's xDS address the proxy dials: <c>host:port</c> or <c>[IPv6]:port</c>.</summary>
    public string XdsAddress { get; set; } = "xds-control-plane.sandboxctl-system.svc.cluster.local:18000";

    /// <summary>The proxy's user id; its own traffic is never redirected (default 1337, as Istio).</summary>
    public long ProxyUid { get; set; } = 1337;

    /// <summary>The port the proxy's outbound listener (<c>virtualOutbound</c>) takes redirected connections on.</summary>
    public int OutboundCapturePort { get; set; } = 15001;

    /// <summary>The port of Envoy's admin interface (on 127.0.0.1 only).</summary>
    public int AdminPort { get; set; } = 15000;

    /// <summary>The port of the proxy's readiness listener (on every address: the kubelet probes it), which forwards <c>/ready</c> to the admin interface.</summary>
    public int ProbePort { get; set; } = 15021;

    /// <summary>The excluded ports when none are set: the control plane's xDS port, the tunnel broker's port and its per-workload listeners.</summary>
    public static IReadOnlyList<string> DefaultExcludedOutboundPorts { get; } = ["18000", "18001", "18100-18199"];

    /// <summary>
    /// Destination ports (<c>18000</c>) or ranges (<c>18100-18199</c>) whose outbound connections bypass the proxy;
    /// null for <see cref="DefaultExcludedOutboundPorts"/> (a configuration list replaces them, it does not add to them).
    /// </summary>
    public string[]? ExcludedOutboundPorts { get; set; }

    /// <summary>The excluded ports in force.</summary>
    internal IReadOnlyList<string> ExcludedPorts => ExcludedOutboundPorts ?? DefaultExcludedOutboundPorts;

    /// <summary>Native sidecar or regular container (<see cref="NativeSidecarMode"/>).</summary>
    public NativeSidecarMode NativeSidecar { get; set; } = NativeSidecarMode.Auto;

    /// <summary>
    /// The cluster's Kubernetes minor version (<c>33</c> for 1.33) that <see cref="NativeSidecarMode.Auto"/> decides on: the
    /// lowest of the API server's and the kubelets' (the chart passes <c>.Capabilities.KubeVersion.Minor</c>); absent means unknown, so regular.
    /// </summary>
    public int? ClusterMinorVersion { get; set; }

    /// <summary>
    /// Inject only pods that say <c>sandboxctl.io/inject: "true"</c> (label or annotation), for a webhook configuration
    /// that sends every pod; by default every pod the webhook receives is injected unless it opts out, the
    /// configuration's namespace and object selectors having opted it in.
    /// </summary>
    public bool RequireExplicitOptIn { get; set; }

    /// <summary>The proxy's CPU request (a Kubernetes quantity).</summary>
    public string ProxyCpuRequest { get; set; } = "100m";

    /// <summary>The proxy's memory request.</summary>
    public string ProxyMemoryRequest { get; set; } = "128Mi";

    /// <summary>The proxy's CPU limit, or empty for none.</summary>
    public string ProxyCpuLimit { get; set; } = "";

    /// <summary>The proxy's memory limit, or empty for none.</summary>
    public string ProxyMemoryLimit { get; set; } = "512Mi";

    /// <summary>The largest CA bundle <see cref="XdsCaFile"/> may be (it is written into every injected pod's arguments).</summary>
    public const int MaxXdsCaBytes = 64 * 1024;

    /// <summary>
    /// When the xDS listener serves TLS: the CA bundle (PEM, on the server's file system) its certificate chains to. It is
    /// read when the server starts and written into the injected bootstrap (the CA is public), so injected proxies reach
    /// the control plane over TLS without a file in their pod; null: plaintext xDS.
    /// </summary>
    public string? XdsCaFile { get; set; }

    /// <summary>With <see cref="XdsCaFile"/>: the name the control plane's certificate must carry (SNI and a SAN match); default the host of <see cref="XdsAddress"/>.</summary>
    public string? XdsServerName { get; set; }

    /// <summary>The default of <see cref="XdsTokenExpirationSeconds"/>: an hour, which the kubelet refreshes after 48 minutes.</summary>
    public const int DefaultXdsTokenExpirationSeconds = 3600;

    /// <summary>
    /// The audience of the projected ServiceAccount token injected proxies send on their xDS stream
    /// (<c>authorization: Bearer</c>, for the control plane's TokenReview); null or empty: none. The server sets it from
    /// <c>Xds:TokenReview</c> (<c>--xds-token-review</c> other than off: its <c>--xds-token-audience</c>) when
    /// <see cref="XdsCaFile"/> is set; it needs <see cref="XdsCaFile"/>, since a token must not cross the network in the clear.
    /// </summary>
    public string? XdsTokenAudience { get; set; }

    /// <summary>
    /// How long the projected token lives (<c>expirationSeconds</c>, 600 to 86400); the kubelet writes a new one at 80%
    /// of it, and a proxy sends the file's current token with each new xDS stream.
    /// </summary>
    public int XdsTokenExpirationSeconds { get; set; } = DefaultXdsTokenExpirationSeconds;

    /// <summary>Whether injected proxies send a ServiceAccount token.</summary>
    public bool SendsXdsToken => !string.IsNullOrEmpty(XdsTokenAudience);

    /// <summary>Whether the proxy runs as a native sidecar on a cluster of <see cref="ClusterMinorVersion"/>.</summary>
    public bool UsesNativeSidecar => NativeSidecar switch
    {
        NativeSidecarMode.Always => true,
        NativeSidecarMode.Never => false,
        _ => ClusterMinorVersion >= NativeSidecarGaMinor,
    };

    /// <summary>The problems, each naming the field (empty when valid).</summary>
    public IEnumerable<string> Validate()
    {
        if (ReadXdsCa().Problem is { } caProblem)
        {
            yield return $"{Section}:{nameof(XdsCaFile)} must be a readable PEM file of CA certificates, but '{Shown(XdsCaFile ?? "")}' {caProblem}.";
        }

        if (XdsServerName is { Length: > 0 } serverName && (serverName.Length > 253 || !serverName.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or ':')))
        {
            yield return $"{Section}:{nameof(XdsServerName)} must be a DNS name or an IP address, got '{Shown(serverName)}'.";
        }

        if (XdsTokenAudience is { Length: > 0 } audience)
        {
            if (string.IsNullOrWhiteSpace(audience) || audience.Length > 256 || audience.Any(char.IsControl))
            {
                yield return $"{Section}:{nameof(XdsTokenAudience)} (from --xds-token-audience) must be 1 to 256 printable characters, got {audience.Length.ToString(CultureInfo.InvariantCulture)} characters.";
            }

            if (string.IsNullOrEmpty(XdsCaFile))
            {
                yield return $"{Section}:{nameof(XdsTokenAudience)} needs {Section}:{nameof(XdsCaFile)} (--inject-xds-ca-file): injected proxies send their ServiceAccount token over TLS only, never in the clear.";
            }
        }

        if (XdsTokenExpirationSeconds is < 600 or > 86400)
        {
            yield return $"{Section}:{nameof(XdsTokenExpirationSeconds)} must be from 600 (the API server's minimum) to 86400 seconds, got {XdsTokenExpirationSeconds.ToString(CultureInfo.InvariantCulture)}.";
        }

        if (!IsImage(ProxyImage))
        {
            yield return $"{Section}:{nameof(ProxyImage)} must be an image reference (no spaces, at most 512 characters), got '{Shown(ProxyImage)}'.";
        }

        if (!IsImage(InitImage))
        {
            yield return $"{Section}:{nameof(InitImage)} must be an image reference (no spaces, at most 512 characters), got '{Shown(InitImage)}'.";
        }

        if (ParseXdsAddress(XdsAddress) is null)
        {
            yield return $"{Section}:{nameof(XdsAddress)} must be host:port or [IPv6]:port with a port from 1 to 65535, got '{Shown(XdsAddress)}'.";
        }

        if (ProxyUid is < 1 or > int.MaxValue)
        {
            yield return $"{Section}:{nameof(ProxyUid)} must be a user id from 1 to {int.MaxValue.ToString(CultureInfo.InvariantCulture)} (0 is root, whose traffic would all bypass the proxy), got {ProxyUid.ToString(CultureInfo.InvariantCulture)}.";
        }

        foreach (var (name, port) in new[] { (nameof(OutboundCapturePort), OutboundCapturePort), (nameof(AdminPort), AdminPort), (nameof(ProbePort), ProbePort) })
        {
            if (port is < 1 or > 65535)
            {
                yield return $"{Section}:{name} must be a port from 1 to 65535, got {port.ToString(CultureInfo.InvariantCulture)}.";
            }
        }

        if (new[] { OutboundCapturePort, AdminPort, ProbePort }.Distinct().Count() != 3)
        {
            yield return $"{Section}:{nameof(OutboundCapturePort)}, {nameof(AdminPort)} and {nameof(ProbePort)} must differ, got {OutboundCapturePort.ToString(CultureInfo.InvariantCulture)}, {AdminPort.ToString(CultureInfo.InvariantCulture)} and {ProbePort.ToString(CultureInfo.InvariantCulture)}.";
        }

        if (ExcludedPorts.Count > MaxExcludedPorts)
        {
            yield return $"{Section}:{nameof(ExcludedOutboundPorts)} may hold at most {MaxExcludedPorts.ToString(CultureInfo.InvariantCulture)} ports or ranges, got {ExcludedPorts.Count.ToString(CultureInfo.InvariantCulture)}.";
        }

        for (var i = 0; i < ExcludedPorts.Count; i++)
        {
            if (ParsePortRange(ExcludedPorts[i]) is null)
            {
                yield return $"{Section}:{nameof(ExcludedOutboundPorts)}:{i.ToString(CultureInfo.InvariantCulture)} must be a port (18000) or a range FIRST-LAST (18100-18199) within 1-65535, got '{Shown(ExcludedPorts[i])}'.";
            }
        }

        if (!Enum.IsDefined(NativeSidecar))
        {
            yield return $"{Section}:{nameof(NativeSidecar)} must be Auto, Always or Never.";
        }

        if (ClusterMinorVersion is < 0 or > 1000)
        {
            yield return $"{Section}:{nameof(ClusterMinorVersion)} must be a Kubernetes minor version such as 33, got {ClusterMinorVersion.Value.ToString(CultureInfo.InvariantCulture)}.";
        }

        foreach (var (name, value, optional) in new[]
        {
            (nameof(ProxyCpuRequest), ProxyCpuRequest, false), (nameof(ProxyMemoryRequest), ProxyMemoryRequest, false),
            (nameof(ProxyCpuLimit), ProxyCpuLimit, true), (nameof(ProxyMemoryLimit), ProxyMemoryLimit, true),
        })
        {
            if (!(optional && string.IsNullOrEmpty(value)) && !Quantity().IsMatch(value ?? ""))
            {
                yield return $"{Section}:{name} must be a Kubernetes quantity such as 100m, 0.5 or 128Mi{(optional ? " (or empty for none)" : "")}, got '{Shown(value)}'.";
            }
        }
    }

    /// <summary>The CA bundle of <see cref="XdsCaFile"/> (PEM), or null without one; the problem when it cannot be used.</summary>
    internal (string? Pem, string? Problem) ReadXdsCa()
    {
        if (string.IsNullOrEmpty(XdsCaFile))
        {
            return (null, null);
        }

        try
        {
            var file = new FileInfo(XdsCaFile);
            if (file.Exists && file.Length > MaxXdsCaBytes)
            {
                return (null, $"is {file.Length.ToString(CultureInfo.InvariantCulture)} bytes; at most {MaxXdsCaBytes.ToString(CultureInfo.InvariantCulture)}");
            }

            var pem = File.ReadAllText(XdsCaFile);
            var certificates = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            certificates.ImportFromPem(pem);
            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }

            return certificates.Count == 0 ? (null, "holds no PEM certificate") : (pem, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            return (null, e.Message);
        }
    }

    /// <summary>The excluded ports as the init container's <c>-x</c> argument: <c>18000,18001,18100:18199</c>.</summary>
    internal string ExcludedPortsArgument() =>
        string.Join(',', ExcludedPorts.Select(ParsePortRange).OfType<(int First, int Last)>()
            .Select(r => r.First == r.Last ? r.First.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{r.First}:{r.Last}")));

    /// <summary><c>PORT</c> or <c>FIRST-LAST</c> within 1-65535; null when malformed.</summary>
    internal static (int First, int Last)? ParsePortRange(string? text)
    {
        var parts = (text ?? "").Split('-');
        if (parts.Length > 2 || !parts.All(p => p.Length is > 0 and <= 5 && p.All(char.IsAsciiDigit)))
        {
            return null;
        }

        var first = int.Parse(parts[0], CultureInfo.InvariantCulture);
        var last = parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : first;
        return first is >= 1 and <= 65535 && last >= first && last <= 65535 ? (first, last) : null;
    }

    /// <summary><c>host:port</c> or <c>[IPv6]:port</c>; null when malformed.</summary>
    internal static (string Host, int Port)? ParseXdsAddress(string? text)
    {
        var match = Address().Match(text ?? "");
        if (!match.Success || !int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return null;
        }

        var ipv6 = match.Groups["ipv6"].Value;
        if (ipv6.Length > 0)
        {
            return System.Net.IPAddress.TryParse(ipv6, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? (ipv6, port) : null;
        }

        return (match.Groups["host"].Value, port);
    }

    private static bool IsImage(string? image) => image is { Length: > 0 and <= 512 } && image.All(c => c > ' ' && c < 0x7f);

    private static string Shown(string? text) => text is null ? "" : text.Length > 80 ? text[..80] + "…" : text;

    [GeneratedRegex(@"^(?:\[(?<ipv6>[0-9A-Fa-f:.]+)\]|(?<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)):(?<port>[0-9]{1,5})\z")]
    private static partial Regex Address();

    [GeneratedRegex(@"^(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?\z")]
    private static partial Regex Quantity();
}
