using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using XdsControlPlane.Translation.HttpFilters;
using static XdsControlPlane.Translation.EnvoyBuilding;
using HttpInspector = Envoy.Extensions.Filters.Listener.HttpInspector.V3.HttpInspector;
using OriginalDst = Envoy.Extensions.Filters.Listener.OriginalDst.V3.OriginalDst;
using TcpProxy = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;
using ScopedRds = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.ScopedRds;
using ScopedRoutes = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.ScopedRoutes;
using ScopeKeyBuilder = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.ScopedRoutes.Types.ScopeKeyBuilder;
using UpgradeConfig = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager.Types.UpgradeConfig;

namespace XdsControlPlane.Translation;

/// <summary>
/// Builds the listeners of each data-plane role, their connection managers running the role's HTTP filters
/// (<see cref="HttpFilterRegistry.Chain"/>). Routes always come over RDS, so route changes never drain connections.
/// </summary>
internal sealed class ListenerTranslator(TranslationOptions options, HttpFilterRegistry filters)
{
    /// <summary>The gateway's listener and route configuration name (the scoped routes' name with <see cref="TranslationOptions.ScopedRoutes"/>).</summary>
    public const string GatewayListener = "gateway-http";

    /// <summary>The gateway's HTTPS listener (<see cref="TranslationOptions.GatewayTls"/>); it loads the same routes as <see cref="GatewayListener"/>.</summary>
    public const string GatewayHttpsListener = "gateway-https";

    /// <summary>The request header a gateway's routing scope is picked by: its host, the part before the first <c>:</c>.</summary>
    public const string ScopeKeyHeader = ":authority";

    /// <summary>The sidecar's capture listener.</summary>
    public const string VirtualOutbound = "virtualOutbound";

    /// <summary>
    /// The gateway's HTTP listener: WebSocket and CONNECT upgrades, HTTP/2 CONNECT, real client addresses. Its routes
    /// come over RDS, or with <see cref="TranslationOptions.ScopedRoutes"/> over scoped RDS: the scope whose key is the
    /// request's host without the port (<c>:authority</c> split at <c>:</c>, element 0; Envoy compares it exactly).
    /// </summary>
    public Listener Gateway() => new()
    {
        Name = GatewayListener,
        Address = SocketAddress("0.0.0.0", options.GatewayPort),
        TrafficDirection = TrafficDirection.Inbound,
        FilterChains = { new FilterChain { Name = "http", Filters = { GatewayConnectionManager("gateway") } } },
    };

    /// <summary>
    /// The gateway's HTTPS listener (<see cref="TranslationOptions.GatewayTls"/>): the plain listener's connection manager
    /// and routes behind TLS whose certificate is loaded over SDS on the ADS stream (<see cref="GatewayTlsSecret.Name"/>),
    /// so a rotation re-sends the secret and never this listener. TLS 1.2 or later; ALPN offers HTTP/2 then HTTP/1.1.
    /// </summary>
    public Listener GatewayHttps()
    {
        var tls = new DownstreamTlsContext
        {
            CommonTlsContext = new CommonTlsContext
            {
                TlsParams = new TlsParameters { TlsMinimumProtocolVersion = TlsParameters.Types.TlsProtocol.Tlsv12 },
                AlpnProtocols = { "h2", "http/1.1" },
                TlsCertificateSdsSecretConfigs = { new SdsSecretConfig { Name = GatewayTlsSecret.Name, SdsConfig = Ads() } },
            },
        };
        return new Listener
        {
            Name = GatewayHttpsListener,
            Address = SocketAddress("0.0.0.0", options.GatewayHttpsPort),
            TrafficDirection = TrafficDirection.Inbound,
            FilterChains =
            {
                new FilterChain
                {
                    Name = "https",
                    TransportSocket = new TransportSocket { Name = "envoy.transport_sockets.tls", TypedConfig = Typed(tls) },
                    Filters = { GatewayConnectionManager("gateway_https") },
                },
            },
        };
    }

    /// <summary>The gateway listeners' connection manager: the gateway's HTTP filters, its routes (RDS or scoped RDS), upgrades.</summary>
    private Filter GatewayConnectionManager(string statPrefix)
    {
        var hcm = HttpConnectionManager(statPrefix, GatewayListener, filters.Chain(DataPlaneRoles.Gateway));
        if (options.ScopedRoutes)
        {
            // Setting the scoped routes clears the RDS of the same oneof.
            hcm.ScopedRoutes = new ScopedRoutes
            {
                Name = GatewayListener,
                ScopeKeyBuilder = new ScopeKeyBuilder
                {
                    Fragments =
                    {
                        new ScopeKeyBuilder.Types.FragmentBuilder
                        {
                            HeaderValueExtractor = new() { Name = ScopeKeyHeader, ElementSeparator = ":", Index = 0 },
                        },
                    },
                },
                RdsConfigSource = Ads(),
                ScopedRds = new ScopedRds { ScopedRdsConfigSource = Ads() },
            };
        }

        hcm.UseRemoteAddress = true;
        hcm.UpgradeConfigs.Add(new UpgradeConfig { UpgradeType = "websocket" });
        hcm.UpgradeConfigs.Add(new UpgradeConfig { UpgradeType = "CONNECT" });
        hcm.Http2ProtocolOptions = new Http2ProtocolOptions { AllowConnect = true };
        filters.ConfigureConnectionManager(hcm, DataPlaneRoles.Gateway);
        return new Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Typed(hcm) };
    }

    /// <summary>
    /// The sidecar's capture listener (iptables redirects outbound connections to it): hands each connection to the
    /// listener for its original destination port, and passes the rest through unchanged.
    /// </summary>
    public Listener SidecarVirtualOutbound() => new()
    {
        Name = VirtualOutbound,
        Address = SocketAddress("0.0.0.0", options.SidecarOutboundPort),
        UseOriginalDst = true,
        TrafficDirection = TrafficDirection.Outbound,
        ListenerFilters = { new ListenerFilter { Name = "envoy.filters.listener.original_dst", TypedConfig = Typed(new OriginalDst()) } },
        DefaultFilterChain = Passthrough(),
    };

    /// <summary>
    /// The sidecar's listener for one outbound port (not bound; reached through <see cref="SidecarVirtualOutbound"/>):
    /// HTTP (sniffed) is routed by Host and routing key, anything else passes through as TCP.
    /// </summary>
    public Listener SidecarPort(int port)
    {
        var name = SidecarRouteName(port);
        var hcm = HttpConnectionManager($"outbound_{name}", name, filters.Chain(DataPlaneRoles.Sidecar));
        hcm.UpgradeConfigs.Add(new UpgradeConfig { UpgradeType = "websocket" });
        return new Listener
        {
            Name = $"0.0.0.0_{name}",
            Address = SocketAddress("0.0.0.0", port),
            BindToPort = false,
            TrafficDirection = TrafficDirection.Outbound,
            ListenerFilters = { new ListenerFilter { Name = "envoy.filters.listener.http_inspector", TypedConfig = Typed(new HttpInspector()) } },
            FilterChains =
            {
                new FilterChain
                {
                    Name = "http",
                    FilterChainMatch = new FilterChainMatch { ApplicationProtocols = { "http/1.0", "http/1.1", "h2c" } },
                    Filters = { new Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Typed(hcm) } },
                },
            },
            DefaultFilterChain = Passthrough(),
        };
    }

    /// <summary>The route configuration name of a sidecar port.</summary>
    public static string SidecarRouteName(int port) => ClusterTranslator.Text(port);

    /// <summary>A proxyless gRPC API listener named as the client's target (<c>cart.shop:8080</c>).</summary>
    public Listener GrpcApiListener(string name, string routeConfigName) => new()
    {
        Name = name,
        ApiListener = new ApiListener { ApiListener_ = Typed(HttpConnectionManager(name, routeConfigName, filters.Chain(DataPlaneRoles.Grpc))) },
    };

    private static FilterChain Passthrough() => new()
    {
        Name = "passthrough",
        Filters =
        {
            new Filter
            {
                Name = "envoy.filters.network.tcp_proxy",
                TypedConfig = Typed(new TcpProxy { StatPrefix = ClusterTranslator.PassthroughCluster, Cluster = ClusterTranslator.PassthroughCluster }),
            },
        },
    };
}
