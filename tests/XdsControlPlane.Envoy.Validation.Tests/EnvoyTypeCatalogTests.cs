using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Envoy.Service.Status.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using AccessLog = Envoy.Extensions.AccessLoggers.Stream.V3;
using Auth = Envoy.Service.Auth.V3;
using Authz = Envoy.Extensions.Filters.Http.ExtAuthz.V3;
using Fault = Envoy.Extensions.Filters.Http.Fault.V3;
using ListenerFilters = Envoy.Extensions.Filters.Listener;
using Rbac = Envoy.Extensions.Filters.Http.Rbac.V3;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;
using Tcp = Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Tls = Envoy.Extensions.TransportSockets.Tls.V3;
using Upstreams = Envoy.Extensions.Upstreams.Http.V3;

namespace XdsControlPlane.Envoy.Validation.Tests;

/// <summary>The generated Envoy API: every type we depend on packs into Any and survives protobuf JSON.</summary>
public sealed class EnvoyTypeCatalogTests
{
    internal static IEnumerable<TestCaseData> EnvoyTypes()
    {
        TestCaseData Case(IMessage message, string typeName) =>
            new TestCaseData(message, "type.googleapis.com/" + typeName).SetArgDisplayNames(typeName);

        yield return Case(EnvoyExamples.GatewayListener(), "envoy.config.listener.v3.Listener");
        yield return Case(EnvoyExamples.RouteConfiguration(), "envoy.config.route.v3.RouteConfiguration");
        yield return Case(EnvoyExamples.Cluster(), "envoy.config.cluster.v3.Cluster");
        yield return Case(EnvoyExamples.ClusterLoadAssignment(), "envoy.config.endpoint.v3.ClusterLoadAssignment");
        yield return Case(EnvoyExamples.Bootstrap(), "envoy.config.bootstrap.v3.Bootstrap");
        yield return Case(new Tls.Secret { Name = "preview-tls", TlsCertificate = new Tls.TlsCertificate { CertificateChain = new DataSource { InlineString = "PEM" } } }, "envoy.extensions.transport_sockets.tls.v3.Secret");
        yield return Case(EnvoyExamples.HttpConnectionManager(), "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
        yield return Case(new Router { SuppressEnvoyHeaders = true }, "envoy.extensions.filters.http.router.v3.Router");
        yield return Case(new Tcp.TcpProxy { StatPrefix = "tcp", Cluster = "shop/db/5432" }, "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy");
        yield return Case(new Authz.ExtAuthz { TransportApiVersion = ApiVersion.V3, FailureModeAllow = false }, "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz");
        yield return Case(EnvoyExamples.LocalRateLimit(), "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit");
        yield return Case(new Fault.HTTPFault { MaxActiveFaults = 3 }, "envoy.extensions.filters.http.fault.v3.HTTPFault");
        yield return Case(new Rbac.RBAC(), "envoy.extensions.filters.http.rbac.v3.RBAC");
        yield return Case(EnvoyExamples.UpstreamTlsContext(), "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
        yield return Case(new Tls.DownstreamTlsContext { RequireClientCertificate = true }, "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext");
        yield return Case(new Upstreams.HttpProtocolOptions { ExplicitHttpConfig = new() { Http2ProtocolOptions = new() } }, "envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
        yield return Case(new ListenerFilters.OriginalDst.V3.OriginalDst(), "envoy.extensions.filters.listener.original_dst.v3.OriginalDst");
        yield return Case(new ListenerFilters.HttpInspector.V3.HttpInspector(), "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector");
        yield return Case(new ListenerFilters.TlsInspector.V3.TlsInspector(), "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector");
        yield return Case(new AccessLog.StdoutAccessLog(), "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog");
        yield return Case(
            new DiscoveryRequest { VersionInfo = "v1", Node = new Node { Id = "n" }, ResourceNames = { "a" }, TypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster", ResponseNonce = "1", ErrorDetail = new Google.Rpc.Status { Code = 3, Message = "bad" } },
            "envoy.service.discovery.v3.DiscoveryRequest");
        yield return Case(
            new DiscoveryResponse { VersionInfo = "v1", Resources = { Any.Pack(EnvoyExamples.Cluster()) }, TypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster", Nonce = "1" },
            "envoy.service.discovery.v3.DiscoveryResponse");
        yield return Case(
            new DeltaDiscoveryRequest { TypeUrl = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", ResourceNamesSubscribe = { "a" }, InitialResourceVersions = { ["a"] = "v1" } },
            "envoy.service.discovery.v3.DeltaDiscoveryRequest");
        yield return Case(
            new DeltaDiscoveryResponse { SystemVersionInfo = "v2", Resources = { new Resource { Name = "a", Version = "v2", Resource_ = Any.Pack(EnvoyExamples.ClusterLoadAssignment()) } }, RemovedResources = { "b" }, Nonce = "2" },
            "envoy.service.discovery.v3.DeltaDiscoveryResponse");
        yield return Case(new ClientStatusRequest { Node = new Node { Id = "n" } }, "envoy.service.status.v3.ClientStatusRequest");
        yield return Case(
            new ClientStatusResponse
            {
                Config =
                {
                    new ClientConfig
                    {
                        Node = new Node { Id = "gateway-0" },
                        GenericXdsConfigs = { new ClientConfig.Types.GenericXdsConfig { TypeUrl = "type.googleapis.com/envoy.config.cluster.v3.Cluster", Name = "shop/cart/8080", VersionInfo = "v1", ConfigStatus = ConfigStatus.Synced } },
                    },
                },
            },
            "envoy.service.status.v3.ClientStatusResponse");
        yield return Case(new Auth.CheckRequest { Attributes = new Auth.AttributeContext { Request = new() { Http = new() { Host = "cart-8080-abc.preview.example.com" } } } }, "envoy.service.auth.v3.CheckRequest");
        yield return Case(new Auth.CheckResponse { Status = new Google.Rpc.Status { Code = 7 } }, "envoy.service.auth.v3.CheckResponse");
    }

    [TestCaseSource(nameof(EnvoyTypes))]
    public void Pack_EnvoyType_HasItsTypeUrlAndRoundTripsThroughJson(IMessage message, string expectedTypeUrl)
    {
        var packed = Any.Pack(message);

        var json = EnvoyTypeCatalog.JsonFormatter.Format(packed);
        var parsed = EnvoyTypeCatalog.JsonParser.Parse<Any>(json);
        var unpacked = parsed.Unpack(EnvoyTypeCatalog.Registry);

        Assert.Multiple(() =>
        {
            Assert.That(packed.TypeUrl, Is.EqualTo(expectedTypeUrl));
            Assert.That(json, Does.Contain($"\"@type\": \"{expectedTypeUrl}\""));
            Assert.That(unpacked, Is.EqualTo(message));
        });
    }

    [Test]
    public void JsonFormatter_NestedTypedConfig_IsPrintedAsJsonNotBytes()
    {
        var json = EnvoyTypeCatalog.JsonFormatter.Format(EnvoyExamples.GatewayListener());

        Assert.That(json, Does.Contain("\"routeConfigName\": \"gateway\"").And.Contain("\"@type\": \"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\""));
    }

    [TestCase("envoy.service.discovery.v3.AggregatedDiscoveryService", "StreamAggregatedResources", "DeltaAggregatedResources")]
    [TestCase("envoy.service.listener.v3.ListenerDiscoveryService", "StreamListeners", "DeltaListeners")]
    [TestCase("envoy.service.route.v3.RouteDiscoveryService", "StreamRoutes", "DeltaRoutes")]
    [TestCase("envoy.service.cluster.v3.ClusterDiscoveryService", "StreamClusters", "DeltaClusters")]
    [TestCase("envoy.service.endpoint.v3.EndpointDiscoveryService", "StreamEndpoints", "DeltaEndpoints")]
    [TestCase("envoy.service.secret.v3.SecretDiscoveryService", "StreamSecrets", "DeltaSecrets")]
    [TestCase("envoy.service.status.v3.ClientStatusDiscoveryService", "StreamClientStatus", "FetchClientStatus")]
    [TestCase("envoy.service.auth.v3.Authorization", "Check")]
    public void Services_DiscoveryAndAuthServices_AreCompiledWithTheirMethods(string service, params string[] methods)
    {
        var descriptor = EnvoyTypeCatalog.Files.SelectMany(f => f.Services).SingleOrDefault(s => s.FullName == service);

        Assert.That(descriptor, Is.Not.Null, $"{service} is not compiled");
        Assert.That(descriptor!.Methods.Select(m => m.Name), Is.SupersetOf(methods));
    }

    [Test]
    public void Files_CoverTheImportClosureAndOnlyThat()
    {
        var names = EnvoyTypeCatalog.Files.Select(f => f.Name).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(names, Does.Contain("envoy/config/bootstrap/v3/bootstrap.proto").And.Contain("validate/validate.proto").And.Contain("xds/core/v3/resource_locator.proto"));
            Assert.That(names, Has.None.StartsWith("envoy/extensions/filters/http/oauth2"), "only the closure of protos/envoy-roots.txt is compiled");
            Assert.That(names, Has.Length.InRange(90, 160));
        });
    }

    [Test]
    public void StringRules_IgnoreEmpty_IsAvailableAsFieldTwentySix()
    {
        var field = global::Validate.StringRules.Descriptor.FindFieldByName("ignore_empty");

        Assert.That(field?.FieldNumber, Is.EqualTo(26));
    }

    /// <summary>
    /// Compiles the rules of every field of every compiled message: the validator must implement every rule the
    /// Envoy protos use, and every pattern must compile. Hundreds of annotated fields prove the scan sees them.
    /// </summary>
    [Test]
    public void EveryAnnotatedRule_InCompiledEnvoyProtos_IsImplemented()
    {
        var validator = new EnvoyRulesValidator();
        var messages = EnvoyTypeCatalog.Files.SelectMany(f => f.MessageTypes).SelectMany(Flatten).ToArray();

        var plans = messages.Select(m => (Message: m, Plan: validator.PlanFor(m))).ToArray();
        var unsupported = plans
            .SelectMany(p => p.Plan.Fields.SelectMany(f => f.Rules.AllUnsupported.Select(problem => $"{p.Message.FullName}.{f.Field.Name}: {problem}")))
            .ToArray();
        var annotatedFields = plans.Sum(p => p.Plan.Fields.Count(f => !f.Rules.IsEmpty));
        var requiredOneofs = plans.Sum(p => p.Plan.RequiredOneofs.Count);

        Assert.Multiple(() =>
        {
            Assert.That(unsupported, Is.Empty);
            Assert.That(annotatedFields, Is.GreaterThan(300));
            Assert.That(requiredOneofs, Is.GreaterThan(50));
        });
    }

    private static IEnumerable<MessageDescriptor> Flatten(MessageDescriptor message) =>
        message.NestedTypes.SelectMany(Flatten).Prepend(message);
}
