using System.Text.Json.Nodes;
using Envoy.Config.Bootstrap.V3;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Model;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Envoy.Type.Matcher.V3;
using UpstreamHttpOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace XdsControlPlane.Translation;

/// <summary>What an Envoy bootstrap is rendered for: the role, the control plane's address and the node's identity.</summary>
public sealed record EnvoyBootstrapRequest
{
    /// <summary><see cref="DataPlaneRoles.Gateway"/> or <see cref="DataPlaneRoles.Sidecar"/>.</summary>
    public required string Role { get; init; }

    /// <summary>The control plane's host name or IP address (an IPv6 address without brackets).</summary>
    public required string XdsHost { get; init; }

    /// <summary>The control plane's xDS port.</summary>
    public required int XdsPort { get; init; }

    /// <summary>The node id (unique per Envoy); default <c>&lt;role&gt;-1</c>.</summary>
    public string? NodeId { get; init; }

    /// <summary>The node cluster; default <c>sandboxctl-&lt;role&gt;</c>.</summary>
    public string? NodeCluster { get; init; }

    /// <summary>The zone the Envoy runs in; default <c>zone-a</c>.</summary>
    public string? Zone { get; init; }

    /// <summary>TLS to the control plane (xDS and the preview authorization service), or null for plaintext.</summary>
    public XdsTlsFiles? Tls { get; init; }
}

/// <summary>
/// The files a data plane reaches a TLS control plane with: the CA bundle the server's certificate must chain to and,
/// for mutual TLS, the client's certificate and key (a workload's SPIFFE certificate, whose identity the server holds
/// against the node's role).
/// </summary>
/// <param name="CaFile">The CA bundle (PEM).</param>
/// <param name="CertFile">The client certificate (PEM), or null without client certificates.</param>
/// <param name="KeyFile">Its private key (PEM); given exactly when <paramref name="CertFile"/> is.</param>
/// <param name="ServerName">The name the server's certificate must carry (SNI and verification); default the control plane's host when it is a name.</param>
public sealed record XdsTlsFiles(string CaFile, string? CertFile = null, string? KeyFile = null, string? ServerName = null)
{
    /// <summary>
    /// The CA bundle itself (PEM), written into the bootstrap instead of naming <see cref="CaFile"/> (which then only
    /// says where it came from): for bootstraps whose data plane has no file of it, as the injected sidecar's.
    /// </summary>
    public string? CaPem { get; init; }

    /// <summary>
    /// A projected ServiceAccount token (a path on the data plane) to send on every xDS stream as
    /// <c>authorization: Bearer</c>, for the server's TokenReview; null for none. Envoy then speaks xDS through its Google
    /// gRPC client (call credentials exist only there), which reads the file for each new stream.
    /// </summary>
    public string? TokenFile { get; init; }
}

/// <summary>
/// Builds the Envoy bootstrap of a gateway or sidecar from the Envoy API types — node (id, cluster, role metadata,
/// zone), ADS over gRPC to the control plane (LDS and CDS from ADS), the control plane's cluster (HTTP/2 with
/// keepalive, circuit breakers) and the admin listener — and writes it as YAML or JSON. <c>sandboxctl bootstrap</c>
/// prints it; the files in <c>envoy-bootstrap/</c> are its default output (a test keeps them equal), and an admission
/// webhook can inject it.
/// </summary>
public static class EnvoyBootstrapRenderer
{
    /// <summary>The static cluster that points at the control plane.</summary>
    public const string ControlPlaneCluster = Xds.Resources.BootstrapClusters.ControlPlane;

    /// <summary>The roles a bootstrap can be rendered for.</summary>
    public static IReadOnlyList<string> Roles { get; } = [DataPlaneRoles.Gateway, DataPlaneRoles.Sidecar];

    /// <summary>The bootstrap for <paramref name="request"/>.</summary>
    /// <exception cref="ArgumentException">The role is not one of <see cref="Roles"/>, or the port is out of range.</exception>
    public static Bootstrap Build(EnvoyBootstrapRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Roles.Contains(request.Role))
        {
            throw new ArgumentException($"A bootstrap is rendered for {string.Join(" or ", Roles)}, not '{request.Role}'.", nameof(request));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(request.XdsPort, nameof(request));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(request.XdsPort, 65535, nameof(request));
        var ads = new ConfigSource { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };
        return new Bootstrap
        {
            Node = new Node
            {
                Id = request.NodeId ?? $"{request.Role}-1",
                Cluster = request.NodeCluster ?? $"sandboxctl-{request.Role}",
                Metadata = new Struct { Fields = { [DataPlaneRoles.RoleKey] = Value.ForString(request.Role) } },
                Locality = new Locality { Zone = request.Zone ?? "zone-a" },
            },
            DynamicResources = new Bootstrap.Types.DynamicResources
            {
                AdsConfig = new ApiConfigSource
                {
                    ApiType = ApiConfigSource.Types.ApiType.Grpc,
                    TransportApiVersion = ApiVersion.V3,
                    SetNodeOnFirstMessageOnly = true,
                    GrpcServices = { AdsService(request.XdsHost, request.XdsPort, request.Tls) },
                },
                LdsConfig = ads,
                CdsConfig = ads.Clone(),
            },
            StaticResources = new Bootstrap.Types.StaticResources { Clusters = { ControlPlane(request.XdsHost, request.XdsPort, request.Tls) } },
            Admin = new Admin { Address = AddressOf("127.0.0.1", request.Role == DataPlaneRoles.Gateway ? 9901 : 15000) },
        };
    }

    /// <summary>Envoy's own rules (protoc-gen-validate) applied to <paramref name="bootstrap"/>: what Envoy would refuse at start.</summary>
    public static ValidationResult Validate(Bootstrap bootstrap) => EnvoyRulesValidator.Default.Validate(bootstrap);

    /// <summary><paramref name="bootstrap"/> as protobuf JSON with the proto field names Envoy's own examples use.</summary>
    public static JsonObject ToJson(Bootstrap bootstrap)
    {
        ArgumentNullException.ThrowIfNull(bootstrap);
        return JsonNode.Parse(BootstrapJson.Formatter.Format(bootstrap))!.AsObject();
    }

    /// <summary><paramref name="bootstrap"/> as block YAML, after a comment naming the role and how to run it.</summary>
    public static string ToYaml(Bootstrap bootstrap)
    {
        ArgumentNullException.ThrowIfNull(bootstrap);
        var role = bootstrap.Node?.Metadata?.Fields.TryGetValue(DataPlaneRoles.RoleKey, out var value) == true ? value.StringValue : "data plane";
        return $"# Envoy bootstrap for a sandboxctl {role}: everything but the control-plane connection comes over ADS.\n"
            + "# Rendered by sandboxctl bootstrap; run it with envoy -c <file>.\n"
            + YamlJson.ToYaml(ToJson(bootstrap));
    }

    /// <summary>The credentials plugin that sends a file's contents as call metadata (Envoy's Google gRPC client only).</summary>
    public const string FileBasedMetadata = "envoy.grpc_credentials.file_based_metadata";

    /// <summary>
    /// The ADS gRPC service: Envoy's own client through the control plane's cluster; with a token file, Envoy's Google gRPC
    /// client to the same address over TLS (the CA, the client certificate, the server name) with the
    /// <see cref="FileBasedMetadata"/> call credentials sending <c>authorization: Bearer &lt;the file&gt;</c>.
    /// </summary>
    private static GrpcService AdsService(string host, int port, XdsTlsFiles? tls)
    {
        if (tls?.TokenFile is not { } tokenFile)
        {
            return new GrpcService { EnvoyGrpc = new GrpcService.Types.EnvoyGrpc { ClusterName = ControlPlaneCluster } };
        }

        var ssl = new GrpcService.Types.GoogleGrpc.Types.SslCredentials { RootCerts = tls.CaPem is { } caPem ? new DataSource { InlineString = caPem } : new DataSource { Filename = tls.CaFile } };
        if (tls.CertFile is not null)
        {
            ssl.CertChain = new DataSource { Filename = tls.CertFile };
            ssl.PrivateKey = new DataSource { Filename = tls.KeyFile };
        }

        var google = new GrpcService.Types.GoogleGrpc
        {
            TargetUri = System.Net.IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]:{port}" : $"{host}:{port}",
            StatPrefix = ControlPlaneCluster,
            CredentialsFactoryName = FileBasedMetadata,
            ChannelCredentials = new GrpcService.Types.GoogleGrpc.Types.ChannelCredentials { SslCredentials = ssl },
            CallCredentials =
            {
                new GrpcService.Types.GoogleGrpc.Types.CallCredentials
                {
                    FromPlugin = new GrpcService.Types.GoogleGrpc.Types.CallCredentials.Types.MetadataCredentialsFromPlugin
                    {
                        Name = FileBasedMetadata,
                        TypedConfig = Any.Pack(new global::Envoy.Config.GrpcCredential.V3.FileBasedMetadataConfig { SecretData = new DataSource { Filename = tokenFile }, HeaderPrefix = "Bearer " }),
                    },
                },
            },
        };
        if (tls.ServerName is { } serverName)
        {
            google.ChannelArgs = new GrpcService.Types.GoogleGrpc.Types.ChannelArgs
            {
                Args = { ["grpc.ssl_target_name_override"] = new GrpcService.Types.GoogleGrpc.Types.ChannelArgs.Types.Value { StringValue = serverName } },
            };
        }

        return new GrpcService { GoogleGrpc = google };
    }

    private static Cluster ControlPlane(string host, int port, XdsTlsFiles? tls)
    {
        var cluster = ControlPlane(host, port);
        if (tls is not null)
        {
            cluster.TransportSocket = new TransportSocket { Name = "envoy.transport_sockets.tls", TypedConfig = Any.Pack(UpstreamTls(host, tls)) };
        }

        return cluster;
    }

    /// <summary>
    /// TLS to the control plane from files Envoy reads at start: the server's certificate checked against the CA bundle
    /// and its name (SNI and a SAN match), HTTP/2 by ALPN, the client certificate when given.
    /// </summary>
    private static UpstreamTlsContext UpstreamTls(string host, XdsTlsFiles tls)
    {
        if ((tls.CertFile is null) != (tls.KeyFile is null))
        {
            throw new ArgumentException("The client certificate and its key go together.", nameof(tls));
        }

        var ip = tls.ServerName is null && System.Net.IPAddress.TryParse(host, out _);
        var serverName = tls.ServerName ?? (ip ? null : host);
        var validation = new CertificateValidationContext { TrustedCa = tls.CaPem is { } caPem ? new DataSource { InlineString = caPem } : new DataSource { Filename = tls.CaFile } };
        validation.MatchTypedSubjectAltNames.Add(new SubjectAltNameMatcher
        {
            SanType = ip ? SubjectAltNameMatcher.Types.SanType.IpAddress : SubjectAltNameMatcher.Types.SanType.Dns,
            Matcher = new StringMatcher { Exact = serverName ?? host },
        });

        var common = new CommonTlsContext { ValidationContext = validation, AlpnProtocols = { "h2" } };
        if (tls.CertFile is not null)
        {
            common.TlsCertificates.Add(new TlsCertificate { CertificateChain = new DataSource { Filename = tls.CertFile }, PrivateKey = new DataSource { Filename = tls.KeyFile } });
        }

        return new UpstreamTlsContext { Sni = serverName ?? "", CommonTlsContext = common };
    }

    private static Cluster ControlPlane(string host, int port) => new()
    {
        Name = ControlPlaneCluster,
        Type = Cluster.Types.DiscoveryType.StrictDns,
        ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)),

        // An IPv6 address resolves only as an IPv6 "name"; V4_PREFERRED would first ask DNS for an A record of "::1".
        DnsLookupFamily = System.Net.IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? Cluster.Types.DnsLookupFamily.V6Only
            : Cluster.Types.DnsLookupFamily.V4Preferred,
        LoadAssignment = new ClusterLoadAssignment
        {
            ClusterName = ControlPlaneCluster,
            Endpoints = { new LocalityLbEndpoints { LbEndpoints = { new LbEndpoint { Endpoint = new Endpoint { Address = AddressOf(host, port) } } } } },
        },

        // gRPC needs HTTP/2; keepalive notices a dead connection, so Envoy reconnects to another replica.
        TypedExtensionProtocolOptions =
        {
            ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"] = Any.Pack(new UpstreamHttpOptions
            {
                ExplicitHttpConfig = new UpstreamHttpOptions.Types.ExplicitHttpConfig
                {
                    Http2ProtocolOptions = new Http2ProtocolOptions
                    {
                        ConnectionKeepalive = new KeepaliveSettings
                        {
                            Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
                            Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
                        },
                    },
                },
            }),
        },
        CircuitBreakers = new CircuitBreakers
        {
            Thresholds =
            {
                new CircuitBreakers.Types.Thresholds
                {
                    Priority = RoutingPriority.Default,
                    MaxConnections = 100,
                    MaxPendingRequests = 100,
                    MaxRequests = 100000,
                    MaxRetries = 3,
                },
            },
        },
    };

    private static Address AddressOf(string host, int port) =>
        new() { SocketAddress = new SocketAddress { Address = host, PortValue = (uint)port } };

    /// <summary>
    /// The formatter, apart from the renderer's other statics: its type registry reads every Envoy descriptor (half a
    /// second of start-up), which <see cref="Roles"/> (read by <c>sandboxctl</c>'s command line) must not pay.
    /// </summary>
    private static class BootstrapJson
    {
        public static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default
            .WithTypeRegistry(EnvoyTypeCatalog.Registry)
            .WithFormatDefaultValues(false)
            .WithPreserveProtoFieldNames(true));
    }
}
