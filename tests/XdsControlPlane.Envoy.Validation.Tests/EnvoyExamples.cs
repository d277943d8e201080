using Envoy.Config.Bootstrap.V3;
using Envoy.Config.Cluster.V3;
using Filter = Envoy.Config.Listener.V3.Filter;
using RetryPolicy = Envoy.Config.Route.V3.RetryPolicy;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Type.Matcher.V3;
using Envoy.Type.V3;
using Google.Protobuf.WellKnownTypes;
using Authz = Envoy.Extensions.Filters.Http.ExtAuthz.V3;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using RateLimit = Envoy.Extensions.Filters.Http.LocalRatelimit.V3;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;
using Tcp = Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Tls = Envoy.Extensions.TransportSockets.Tls.V3;
using Upstreams = Envoy.Extensions.Upstreams.Http.V3;

namespace XdsControlPlane.Envoy.Validation.Tests;

/// <summary>Realistic, valid Envoy resources of the kinds the control plane produces. Each call builds a fresh copy.</summary>
internal static class EnvoyExamples
{
    public const string HttpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    public static ConfigSource Ads() => new() { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };

    public static Address SocketAddress(string ip, uint port) => new() { SocketAddress = new SocketAddress { Address = ip, PortValue = port } };

    public static Hcm.HttpConnectionManager HttpConnectionManager() => new()
    {
        StatPrefix = "gateway_http",
        CodecType = Hcm.HttpConnectionManager.Types.CodecType.Auto,
        Rds = new Hcm.Rds { RouteConfigName = "gateway", ConfigSource = Ads() },
        UpgradeConfigs = { new Hcm.HttpConnectionManager.Types.UpgradeConfig { UpgradeType = "websocket" } },
        HttpFilters =
        {
            new Hcm.HttpFilter
            {
                Name = "envoy.filters.http.ext_authz",
                TypedConfig = Any.Pack(new Authz.ExtAuthz
                {
                    TransportApiVersion = ApiVersion.V3,
                    GrpcService = new GrpcService
                    {
                        EnvoyGrpc = new GrpcService.Types.EnvoyGrpc { ClusterName = "sandboxctl_authz" },
                        Timeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(500)),
                    },
                }),
            },
            new Hcm.HttpFilter { Name = "envoy.filters.http.local_ratelimit", TypedConfig = Any.Pack(LocalRateLimit()) },
            new Hcm.HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new Router()) },
        },
    };

    public static RateLimit.LocalRateLimit LocalRateLimit() => new()
    {
        StatPrefix = "preview_rate_limit",
        TokenBucket = new TokenBucket { MaxTokens = 100, TokensPerFill = 100, FillInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) },
        FilterEnabled = new RuntimeFractionalPercent
        {
            DefaultValue = new FractionalPercent { Numerator = 100, Denominator = FractionalPercent.Types.DenominatorType.Hundred },
            RuntimeKey = "preview_rate_limit_enabled",
        },
    };

    public static Listener GatewayListener() => new()
    {
        Name = "gateway_http_8080",
        Address = SocketAddress("0.0.0.0", 8080),
        FilterChains =
        {
            new FilterChain
            {
                Filters = { new Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Any.Pack(HttpConnectionManager()) } },
            },
        },
    };

    public static Listener SidecarPassthroughListener() => new()
    {
        Name = "outbound_tcp_5432",
        Address = SocketAddress("0.0.0.0", 15001),
        ListenerFilters =
        {
            new ListenerFilter
            {
                Name = "envoy.filters.listener.original_dst",
                TypedConfig = Any.Pack(new global::Envoy.Extensions.Filters.Listener.OriginalDst.V3.OriginalDst()),
            },
        },
        FilterChains =
        {
            new FilterChain
            {
                FilterChainMatch = new FilterChainMatch { DestinationPort = 5432 },
                Filters =
                {
                    new Filter
                    {
                        Name = "envoy.filters.network.tcp_proxy",
                        TypedConfig = Any.Pack(new Tcp.TcpProxy { StatPrefix = "outbound_postgres", Cluster = "shop/postgres/5432" }),
                    },
                },
            },
        },
    };

    public static RouteConfiguration RouteConfiguration() => new()
    {
        Name = "gateway",
        VirtualHosts =
        {
            new VirtualHost
            {
                Name = "shop/cart",
                Domains = { "cart", "cart:8080", "cart.shop", "cart.shop:8080", "cart.shop.svc.cluster.local", "cart.shop.svc.cluster.local:8080" },
                Routes =
                {
                    new Route
                    {
                        Name = "feature-x/header",
                        Match = new RouteMatch
                        {
                            Prefix = "/",
                            Headers = { new HeaderMatcher { Name = "x-routing-key", StringMatch = new StringMatcher { Exact = "feature-x" } } },
                        },
                        Route_ = new RouteAction
                        {
                            WeightedClusters = new WeightedCluster
                            {
                                Clusters =
                                {
                                    new WeightedCluster.Types.ClusterWeight { Name = "shop/cart-feature-x/8080", Weight = 80 },
                                    new WeightedCluster.Types.ClusterWeight { Name = "shop/cart/8080", Weight = 20 },
                                },
                            },
                            Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
                            RetryPolicy = new RetryPolicy { RetryOn = "5xx,reset", NumRetries = 2 },
                        },
                        RequestHeadersToAdd =
                        {
                            new HeaderValueOption { Header = new HeaderValue { Key = "x-environment", Value = "sandbox" } },
                        },
                    },
                    new Route
                    {
                        Name = "feature-x/baggage",
                        Match = new RouteMatch
                        {
                            Prefix = "/",
                            Headers =
                            {
                                new HeaderMatcher
                                {
                                    Name = "baggage",
                                    StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = "(^|.*,)\\s*routing-key\\s*=\\s*feature-x\\s*(;[^,]*)?(,.*|$)" } },
                                },
                            },
                        },
                        Route_ = new RouteAction { Cluster = "shop/cart-feature-x/8080" },
                    },
                    new Route
                    {
                        Name = "baseline",
                        Match = new RouteMatch { Prefix = "/" },
                        Route_ = new RouteAction { Cluster = "shop/cart/8080" },
                    },
                },
            },
        },
    };

    public static Cluster Cluster() => new()
    {
        Name = "shop/cart/8080",
        Type = global::Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.Eds,
        EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = Ads(), ServiceName = "shop/cart/8080" },
        ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        LbPolicy = global::Envoy.Config.Cluster.V3.Cluster.Types.LbPolicy.RoundRobin,
        CircuitBreakers = new CircuitBreakers
        {
            Thresholds = { new CircuitBreakers.Types.Thresholds { MaxConnections = 1024, MaxPendingRequests = 1024, MaxRequests = 1024, MaxRetries = 3 } },
        },
        OutlierDetection = new OutlierDetection
        {
            Consecutive5Xx = 5,
            Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
            BaseEjectionTime = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
            MaxEjectionPercent = 50,
        },
        TypedExtensionProtocolOptions =
        {
            [HttpProtocolOptionsKey] = Any.Pack(new Upstreams.HttpProtocolOptions
            {
                ExplicitHttpConfig = new Upstreams.HttpProtocolOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() },
            }),
        },
    };

    public static ClusterLoadAssignment ClusterLoadAssignment() => new()
    {
        ClusterName = "shop/cart/8080",
        Endpoints =
        {
            new LocalityLbEndpoints
            {
                Locality = new Locality { Region = "local", Zone = "zone-a" },
                LoadBalancingWeight = 1,
                LbEndpoints =
                {
                    new LbEndpoint { Endpoint = new Endpoint { Address = SocketAddress("127.0.0.1", 9001) }, LoadBalancingWeight = 1 },
                    new LbEndpoint { Endpoint = new Endpoint { Address = SocketAddress("127.0.0.1", 9002) }, LoadBalancingWeight = 1 },
                },
            },
        },
    };

    public static Tls.UpstreamTlsContext UpstreamTlsContext() => new()
    {
        Sni = "cart.shop.svc.cluster.local",
        CommonTlsContext = new Tls.CommonTlsContext
        {
            ValidationContext = new Tls.CertificateValidationContext
            {
                TrustedCa = new DataSource { Filename = "/etc/ssl/certs/ca-certificates.crt" },
                MatchTypedSubjectAltNames =
                {
                    new Tls.SubjectAltNameMatcher
                    {
                        SanType = Tls.SubjectAltNameMatcher.Types.SanType.Dns,
                        Matcher = new StringMatcher { Exact = "cart.shop.svc.cluster.local" },
                    },
                },
            },
        },
    };

    public static Bootstrap Bootstrap() => new()
    {
        Node = new Node
        {
            Id = "gateway-0",
            Cluster = "sandbox-gateway",
            Locality = new Locality { Region = "local", Zone = "zone-a" },
            Metadata = new Struct { Fields = { ["sandboxctl.io/role"] = Value.ForString("gateway") } },
        },
        DynamicResources = new Bootstrap.Types.DynamicResources
        {
            AdsConfig = new ApiConfigSource
            {
                ApiType = ApiConfigSource.Types.ApiType.Grpc,
                TransportApiVersion = ApiVersion.V3,
                GrpcServices = { new GrpcService { EnvoyGrpc = new GrpcService.Types.EnvoyGrpc { ClusterName = "xds_cluster" } } },
            },
            LdsConfig = Ads(),
            CdsConfig = Ads(),
        },
        StaticResources = new Bootstrap.Types.StaticResources
        {
            Clusters =
            {
                new Cluster
                {
                    Name = "xds_cluster",
                    Type = global::Envoy.Config.Cluster.V3.Cluster.Types.DiscoveryType.StrictDns,
                    ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
                    LoadAssignment = new ClusterLoadAssignment
                    {
                        ClusterName = "xds_cluster",
                        Endpoints = { new LocalityLbEndpoints { LbEndpoints = { new LbEndpoint { Endpoint = new Endpoint { Address = SocketAddress("127.0.0.1", 18000) } } } } },
                    },
                    TypedExtensionProtocolOptions =
                    {
                        [HttpProtocolOptionsKey] = Any.Pack(new Upstreams.HttpProtocolOptions
                        {
                            ExplicitHttpConfig = new Upstreams.HttpProtocolOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() },
                        }),
                    },
                },
            },
        },
        Admin = new Admin { Address = SocketAddress("127.0.0.1", 9901) },
    };
}
