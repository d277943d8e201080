using Envoy.Config.Bootstrap.V3;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Google.Protobuf.WellKnownTypes;
using XdsControlPlane.Translation;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using HttpFilter = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter;

namespace XdsControlPlane.Kubernetes.Admission.Injection;

/// <summary>
/// The injected proxy's Envoy bootstrap: the sidecar bootstrap of <see cref="EnvoyBootstrapRenderer"/> (role metadata
/// <c>sandboxctl.io/role: sidecar</c>, ADS to the control plane, admin on 127.0.0.1) with the node id
/// <see cref="NodeIdTemplate"/> that Kubernetes expands per pod, plus a static readiness listener on every address that
/// answers <c>GET /ready</c> from the admin interface, so the kubelet can probe a proxy whose admin port is loopback-only.
/// With <see cref="SidecarInjectionOptions.XdsCaFile"/>, the control plane's cluster speaks TLS, the CA written in; with
/// <see cref="SidecarInjectionOptions.XdsTokenAudience"/> too, ADS goes through Envoy's Google gRPC client, which sends
/// the projected token at <see cref="PodSidecarInjector.XdsTokenFile"/> as <c>authorization: Bearer</c> on each new stream.
/// </summary>
internal static class SidecarBootstrap
{
    /// <summary>The node id: the kubelet expands <c>$(VAR)</c> in container arguments from the container's env (downward API), so each pod's is its own.</summary>
    public const string NodeIdTemplate = "$(POD_NAME).$(POD_NAMESPACE)";

    /// <summary>The static listener that serves the kubelet's probes.</summary>
    public const string ProbeListener = "sandboxctl_probe";

    /// <summary>The static cluster of the admin interface, which the probe listener forwards <c>/ready</c> to.</summary>
    public const string AdminCluster = "sandboxctl_admin";

    /// <summary>The bootstrap for <paramref name="options"/> (valid options).</summary>
    public static Bootstrap Build(SidecarInjectionOptions options)
    {
        var (host, port) = SidecarInjectionOptions.ParseXdsAddress(options.XdsAddress) ?? throw new ArgumentException($"{nameof(options.XdsAddress)} is not host:port.", nameof(options));
        var bootstrap = EnvoyBootstrapRenderer.Build(new EnvoyBootstrapRequest
        {
            Role = DataPlaneRoles.Sidecar,
            XdsHost = host,
            XdsPort = port,
            NodeId = NodeIdTemplate,

            // The zone a pod runs in is its node's label, which the downward API does not expose; the control plane
            // does not route by the proxy's own zone (no local cluster in the bootstrap), so none is claimed.
            Zone = "",
            Tls = options.ReadXdsCa().Pem is { } caPem
                ? new XdsTlsFiles(options.XdsCaFile!, ServerName: string.IsNullOrEmpty(options.XdsServerName) ? null : options.XdsServerName)
                {
                    CaPem = caPem,
                    TokenFile = options.SendsXdsToken ? PodSidecarInjector.XdsTokenFile : null,
                }
                : null,
        });
        bootstrap.Admin.Address.SocketAddress.PortValue = (uint)options.AdminPort;
        bootstrap.StaticResources.Listeners.Add(Probe(options.ProbePort));
        bootstrap.StaticResources.Clusters.Add(Admin(options.AdminPort));
        return bootstrap;
    }

    private static Listener Probe(int port)
    {
        var hcm = new Hcm
        {
            StatPrefix = ProbeListener,
            CodecType = Hcm.Types.CodecType.Auto,
            RouteConfig = new RouteConfiguration
            {
                Name = ProbeListener,
                VirtualHosts =
                {
                    new VirtualHost
                    {
                        Name = ProbeListener,
                        Domains = { "*" },
                        Routes =
                        {
                            // Only /ready: the rest of the admin interface (config dumps, /quitquitquit) stays on loopback.
                            new Route
                            {
                                Match = new RouteMatch { Path = "/ready" },
                                Route_ = new RouteAction { Cluster = AdminCluster, Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) },
                            },
                            new Route
                            {
                                Match = new RouteMatch { Prefix = "/" },
                                DirectResponse = new DirectResponseAction { Status = 404 },
                            },
                        },
                    },
                },
            },
            HttpFilters = { new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) } },
        };
        return new Listener
        {
            Name = ProbeListener,
            Address = new Address { SocketAddress = new SocketAddress { Address = "0.0.0.0", PortValue = (uint)port } },
            FilterChains = { new FilterChain { Filters = { new global::Envoy.Config.Listener.V3.Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Any.Pack(hcm) } } } },
        };
    }

    private static Cluster Admin(int port) => new()
    {
        Name = AdminCluster,
        Type = Cluster.Types.DiscoveryType.Static,
        ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        LoadAssignment = new ClusterLoadAssignment
        {
            ClusterName = AdminCluster,
            Endpoints =
            {
                new LocalityLbEndpoints
                {
                    LbEndpoints =
                    {
                        new LbEndpoint
                        {
                            Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = "127.0.0.1", PortValue = (uint)port } } },
                        },
                    },
                },
            },
        },
    };
}
