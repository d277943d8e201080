using Envoy.Config.Accesslog.V3;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Metrics.V3;
using Envoy.Config.Rbac.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Fault = Envoy.Extensions.Filters.Http.Fault.V3;
using FaultRateLimit = Envoy.Extensions.Filters.Common.Fault.V3.FaultRateLimit;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Rbac = Envoy.Extensions.Filters.Http.Rbac.V3;
using ListenerQuic = Envoy.Config.Listener.V3.QuicProtocolOptions;
using Router = Envoy.Extensions.Filters.Http.Router.V3.Router;
using StdoutAccessLog = Envoy.Extensions.AccessLoggers.Stream.V3.StdoutAccessLog;
using StringMatcher = Envoy.Type.Matcher.V3.StringMatcher;
using Tls = Envoy.Extensions.TransportSockets.Tls.V3;
using UdpListenerConfig = Envoy.Config.Listener.V3.UdpListenerConfig;
using Upstreams = Envoy.Extensions.Upstreams.Http.V3;

namespace XdsControlPlane.Envoy.Validation.Tests;

/// <summary>Real Envoy resources against the rules annotated in Envoy's own protos.</summary>
public sealed class EnvoyResourceValidationTests
{
    private static readonly EnvoyRulesValidator Validator = EnvoyRulesValidator.Default;

    private static IEnumerable<TestCaseData> ValidResources()
    {
        yield return new TestCaseData(EnvoyExamples.GatewayListener()).SetArgDisplayNames("gateway Listener (HCM, ext_authz, local rate limit, router)");
        yield return new TestCaseData(EnvoyExamples.SidecarPassthroughListener()).SetArgDisplayNames("sidecar Listener (original_dst, tcp_proxy)");
        yield return new TestCaseData(EnvoyExamples.RouteConfiguration()).SetArgDisplayNames("RouteConfiguration (header, baggage, weighted)");
        yield return new TestCaseData(EnvoyExamples.Cluster()).SetArgDisplayNames("EDS Cluster (HTTP/2, circuit breakers, outlier detection)");
        yield return new TestCaseData(EnvoyExamples.ClusterLoadAssignment()).SetArgDisplayNames("ClusterLoadAssignment (locality, weights)");
        yield return new TestCaseData(EnvoyExamples.Bootstrap()).SetArgDisplayNames("Bootstrap (ADS over gRPC)");
        yield return new TestCaseData(EnvoyExamples.UpstreamTlsContext()).SetArgDisplayNames("UpstreamTlsContext");
    }

    [TestCaseSource(nameof(ValidResources))]
    public void Validate_RealisticResource_HasNoViolations(IMessage resource)
    {
        var result = Validator.Validate(resource);

        Assert.That(result.Violations, Is.Empty, result.ToString());
    }

    /// <summary>One defect per resource, each breaking a different kind of rule.</summary>
    private static IEnumerable<TestCaseData> InvalidResources()
    {
        TestCaseData Case(string rule, string path, IMessage resource) =>
            new TestCaseData(resource, path, rule).SetArgDisplayNames(rule, path);

        var routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Name = string.Empty;
        yield return Case("string.min_len", "virtual_hosts[0].name", routes);

        routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Domains.Clear();
        yield return Case("repeated.min_items", "virtual_hosts[0].domains", routes);

        routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Routes[2].ClearAction();
        yield return Case("oneof.required", "virtual_hosts[0].routes[2].action", routes);

        routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Routes[2].Match = null;
        yield return Case("message.required", "virtual_hosts[0].routes[2].match", routes);

        routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Routes[2].Match.Headers.Add(new HeaderMatcher { Name = "x-routing-key\r\nx-evil", PresentMatch = true });
        yield return Case("string.well_known_regex", "virtual_hosts[0].routes[2].match.headers[0].name", routes);

        routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Routes[0].RequestHeadersToAdd[0].Header.Value = new string('a', 16_385);
        yield return Case("string.max_bytes", "virtual_hosts[0].routes[0].request_headers_to_add[0].header.value", routes);

        routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Routes[0].RequestHeadersToAdd[0].Header.Value = string.Empty;
        routes.VirtualHosts[0].Routes[0].RequestHeadersToAdd[0].Header.RawValue = ByteString.CopyFrom(new byte[16_385]);
        yield return Case("bytes.max_len", "virtual_hosts[0].routes[0].request_headers_to_add[0].header.raw_value", routes);

        routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Routes[0].Match.PathSeparatedPrefix = "/api/";
        yield return Case("string.pattern", "virtual_hosts[0].routes[0].match.path_separated_prefix", routes);

        routes = EnvoyExamples.RouteConfiguration();
        routes.RequestHeadersToRemove.Add("x-internal\r\nx-evil");
        yield return Case("repeated.items.string.well_known_regex", "request_headers_to_remove[0]", routes);

        routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Routes[2].DirectResponse = new DirectResponseAction { Status = 600 };
        yield return Case("uint32.gte+lt", "virtual_hosts[0].routes[2].direct_response.status", routes);

        routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Routes[2].Route_.UpgradeConfigs.Add(new RouteAction.Types.UpgradeConfig
        {
            UpgradeType = "CONNECT",
            ConnectConfig = new RouteAction.Types.UpgradeConfig.Types.ConnectConfig
            {
                ProxyProtocolConfig = new ProxyProtocolConfig
                {
                    Version = ProxyProtocolConfig.Types.Version.V2,
                    PassThroughTlvs = new ProxyProtocolPassThroughTLVs { MatchType = ProxyProtocolPassThroughTLVs.Types.PassTLVsMatchType.Include, TlvType = { 0x04, 256 } },
                },
            },
        });
        yield return Case("repeated.items.uint32.lt", "virtual_hosts[0].routes[2].route.upgrade_configs[0].connect_config.proxy_protocol_config.pass_through_tlvs.tlv_type[1]", routes);

        var cluster = EnvoyExamples.Cluster();
        cluster.LbPolicy = (Cluster.Types.LbPolicy)99;
        yield return Case("enum.defined_only", "lb_policy", cluster);

        cluster = EnvoyExamples.Cluster();
        cluster.ConnectTimeout = new Duration();
        yield return Case("duration.gt", "connect_timeout", cluster);

        cluster = EnvoyExamples.Cluster();
        cluster.RingHashLbConfig = new Cluster.Types.RingHashLbConfig { MinimumRingSize = 10_000_000 };
        yield return Case("uint64.lte", "ring_hash_lb_config.minimum_ring_size", cluster);

        cluster = EnvoyExamples.Cluster();
        cluster.CommonLbConfig = new Cluster.Types.CommonLbConfig { HealthyPanicThreshold = new global::Envoy.Type.V3.Percent { Value = 150 } };
        yield return Case("double.gte+lte", "common_lb_config.healthy_panic_threshold.value", cluster);

        cluster = EnvoyExamples.Cluster();
        cluster.Metadata = new Metadata { FilterMetadata = { [string.Empty] = new Struct() } };
        yield return Case("map.keys.string.min_len", "metadata.filter_metadata[\"\"]", cluster);

        cluster = EnvoyExamples.Cluster();
        cluster.CommonLbConfig = new Cluster.Types.CommonLbConfig { OverrideHostStatus = new HealthStatusSet { Statuses = { HealthStatus.Healthy, (HealthStatus)99 } } };
        yield return Case("repeated.items.enum.defined_only", "common_lb_config.override_host_status.statuses[1]", cluster);

        cluster = EnvoyExamples.Cluster();
        cluster.LoadBalancingPolicy = new LoadBalancingPolicy
        {
            Policies = { new LoadBalancingPolicy.Types.Policy { TypedExtensionConfig = new TypedExtensionConfig { Name = "envoy.load_balancing_policies.round_robin" } } },
        };
        yield return Case("any.required", "load_balancing_policy.policies[0].typed_extension_config.typed_config", cluster);

        cluster = EnvoyExamples.Cluster();
        cluster.TypedExtensionProtocolOptions[EnvoyExamples.HttpProtocolOptionsKey] = Any.Pack(new Upstreams.HttpProtocolOptions
        {
            UpstreamHttpProtocolOptions = new UpstreamHttpProtocolOptions { AutoSni = true, OverrideAutoSniHeader = "x sni" },
            ExplicitHttpConfig = new Upstreams.HttpProtocolOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() },
        });
        yield return Case(
            "string.well_known_regex",
            "typed_extension_protocol_options[\"envoy.extensions.upstreams.http.v3.HttpProtocolOptions\"].upstream_http_protocol_options.override_auto_sni_header",
            cluster);

        var endpoints = EnvoyExamples.ClusterLoadAssignment();
        endpoints.Endpoints[0].LbEndpoints[1].Endpoint.Address.SocketAddress.PortValue = 70_000;
        yield return Case("uint32.lte", "endpoints[0].lb_endpoints[1].endpoint.address.socket_address.port_value", endpoints);

        endpoints = EnvoyExamples.ClusterLoadAssignment();
        endpoints.Endpoints[0].LoadBalancingWeight = 0;
        yield return Case("uint32.gte", "endpoints[0].load_balancing_weight", endpoints);

        endpoints = EnvoyExamples.ClusterLoadAssignment();
        endpoints.Policy = new ClusterLoadAssignment.Types.Policy { OverprovisioningFactor = 0 };
        yield return Case("uint32.gt", "policy.overprovisioning_factor", endpoints);

        var listener = EnvoyExamples.SidecarPassthroughListener();
        listener.FilterChains[0].FilterChainMatch.SourcePorts.Add(0);
        yield return Case("repeated.items.uint32.gte+lte", "filter_chains[0].filter_chain_match.source_ports[0]", listener);

        listener = EnvoyExamples.SidecarPassthroughListener();
        listener.FilterChains[0].FilterChainMatch.DestinationPort = 65_536;
        yield return Case("uint32.gte+lte", "filter_chains[0].filter_chain_match.destination_port", listener);

        listener = EnvoyExamples.GatewayListener();
        listener.UdpListenerConfig = new UdpListenerConfig
        {
            QuicOptions = new ListenerQuic { QuicProtocolOptions_ = new QuicProtocolOptions { IdleNetworkTimeout = Duration.FromTimeSpan(TimeSpan.FromMinutes(15)) } },
        };
        yield return Case("duration.gte+lte", "udp_listener_config.quic_options.quic_protocol_options.idle_network_timeout", listener);

        listener = EnvoyExamples.GatewayListener();
        listener.UdpListenerConfig = new UdpListenerConfig { DownstreamSocketConfig = new UdpSocketConfig { MaxRxDatagramSize = 65_536 } };
        yield return Case("uint64.gt+lt", "udp_listener_config.downstream_socket_config.max_rx_datagram_size", listener);

        listener = EnvoyExamples.GatewayListener();
        listener.AccessLog.Add(new AccessLog
        {
            Name = "envoy.access_loggers.stdout",
            Filter = new AccessLogFilter { ResponseFlagFilter = new ResponseFlagFilter { Flags = { "UH", "NOPE" } } },
            TypedConfig = Any.Pack(new StdoutAccessLog()),
        });
        yield return Case("repeated.items.string.in", "access_log[0].filter.response_flag_filter.flags[1]", listener);

        listener = EnvoyExamples.GatewayListener();
        var hcm = EnvoyExamples.HttpConnectionManager();
        hcm.SchemeHeaderTransformation = new SchemeHeaderTransformation { SchemeToOverwrite = "ftp" };
        listener.FilterChains[0].Filters[0].TypedConfig = Any.Pack(hcm);
        yield return Case("string.in", "filter_chains[0].filters[0].typed_config.scheme_header_transformation.scheme_to_overwrite", listener);

        // Three levels of Any: Listener -> HttpConnectionManager -> RBAC filter -> permission.
        listener = EnvoyExamples.GatewayListener();
        hcm = EnvoyExamples.HttpConnectionManager();
        hcm.HttpFilters.Insert(0, new Hcm.HttpFilter
        {
            Name = "envoy.filters.http.rbac",
            TypedConfig = Any.Pack(new Rbac.RBAC
            {
                Rules = new RBAC { Policies = { ["allow"] = new Policy { Permissions = { new Permission { Any = false } }, Principals = { new Principal { Any = true } } } } },
            }),
        });
        listener.FilterChains[0].Filters[0].TypedConfig = Any.Pack(hcm);
        yield return Case("bool.const", "filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.rules.policies[\"allow\"].permissions[0].any", listener);

        // The only uint64.gte rule on the resources' own fields (health check response_buffer_size, gte: 0) cannot be
        // broken; the fault filter's rate limit (gte: 1) can.
        listener = EnvoyExamples.GatewayListener();
        hcm = EnvoyExamples.HttpConnectionManager();
        hcm.HttpFilters.Insert(0, new Hcm.HttpFilter
        {
            Name = "envoy.filters.http.fault",
            TypedConfig = Any.Pack(new Fault.HTTPFault
            {
                ResponseRateLimit = new FaultRateLimit
                {
                    FixedLimit = new FaultRateLimit.Types.FixedLimit { LimitKbps = 0 },
                    Percentage = new global::Envoy.Type.V3.FractionalPercent { Numerator = 10 },
                },
            }),
        });
        listener.FilterChains[0].Filters[0].TypedConfig = Any.Pack(hcm);
        yield return Case("uint64.gte", "filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.response_rate_limit.fixed_limit.limit_kbps", listener);

        hcm = EnvoyExamples.HttpConnectionManager();
        hcm.HttpFilters[^1].TypedConfig = Any.Pack(new Router
        {
            UpstreamLogOptions = new Router.Types.UpstreamAccessLogOptions { UpstreamLogFlushInterval = new Duration { Nanos = 1 } },
        });
        yield return Case("duration.gte", "http_filters[2].typed_config.upstream_log_options.upstream_log_flush_interval", hcm);

        var limiter = EnvoyExamples.LocalRateLimit();
        for (var i = 0; i < 11; i++)
        {
            limiter.RequestHeadersToAddWhenNotEnforced.Add(new HeaderValueOption { Header = new HeaderValue { Key = $"x-h{i}", Value = "v" } });
        }

        yield return Case("repeated.max_items", "request_headers_to_add_when_not_enforced", limiter);

        var tls = EnvoyExamples.UpstreamTlsContext();
        tls.CommonTlsContext.ValidationContext.MatchTypedSubjectAltNames[0].SanType = Tls.SubjectAltNameMatcher.Types.SanType.Unspecified;
        yield return Case("enum.not_in", "common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type", tls);

        tls = EnvoyExamples.UpstreamTlsContext();
        tls.CommonTlsContext.ValidationContext.VerifyCertificateSpki.Add("NvqYIYSbgK2vCJpQhObf77vv+bQWtc5ek5RIOwPiC9A=\n");
        yield return Case("repeated.items.string.max_bytes", "common_tls_context.validation_context.verify_certificate_spki[0]", tls);

        var bootstrap = EnvoyExamples.Bootstrap();
        bootstrap.DynamicResources.AdsConfig.RateLimitSettings = new RateLimitSettings { MaxTokens = 100, FillRate = 0 };
        yield return Case("double.gt", "dynamic_resources.ads_config.rate_limit_settings.fill_rate", bootstrap);

        bootstrap = EnvoyExamples.Bootstrap();
        bootstrap.StatsFlushInterval = Duration.FromTimeSpan(TimeSpan.FromMinutes(5));
        yield return Case("duration.gte+lt", "stats_flush_interval", bootstrap);

        bootstrap = EnvoyExamples.Bootstrap();
        bootstrap.StatsConfig = new StatsConfig
        {
            HistogramBucketSettings = { new HistogramBucketSettings { Match = new StringMatcher { Prefix = "cluster." }, Buckets = { 0, 10, 100, 1000 } } },
        };
        yield return Case("repeated.items.double.gt", "stats_config.histogram_bucket_settings[0].buckets[0]", bootstrap);
    }

    [TestCaseSource(nameof(InvalidResources))]
    public void Validate_ResourceWithOneDefect_ReportsExactlyThatFieldAndRule(IMessage resource, string expectedPath, string expectedRule)
    {
        var result = Validator.Validate(resource);

        Assert.That(result.IsValid, Is.False);
        Assert.That(
            result.Violations.Select(v => (v.FieldPath, v.Rule)),
            Is.EqualTo(new[] { (expectedPath, expectedRule) }),
            result.ToString());
    }

    /// <summary>
    /// The rule kinds (<c>string.min_len</c>, <c>repeated.items</c>…) that Envoy's protos put on the fields of the
    /// resources above, read from the compiled rules: each one must be broken by at least one case of
    /// <see cref="InvalidResources"/>, so every kind of rule the control plane's output is held to is shown to be enforced.
    /// </summary>
    [Test]
    public void Validate_EveryRuleKindOnThePublishedResourceTypes_IsBrokenByACase()
    {
        var used = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var resource in ValidResources().Select(c => (IMessage)c.Arguments[0]!))
        {
            CollectRuleKinds(resource.Descriptor, used, seen);
        }

        var broken = InvalidResources().Select(c => (string)c.Arguments[2]!).Concat(RuleKindTests.Cases().Select(c => (string)c.Arguments[3]!)).ToHashSet(StringComparer.Ordinal);

        Assert.Multiple(() =>
        {
            Assert.That(used, Has.Count.GreaterThan(10), "the scan sees the rules");
            Assert.That(used.Where(kind => !broken.Contains(kind)), Is.Empty, "rule kinds without a failing case: " + string.Join(", ", used.Where(kind => !broken.Contains(kind))) + " ; covered: " + string.Join(", ", used.Where(broken.Contains)));
        });
    }

    private static void CollectRuleKinds(Google.Protobuf.Reflection.MessageDescriptor message, SortedSet<string> used, HashSet<string> seen)
    {
        if (!seen.Add(message.FullName))
        {
            return;
        }

        var plan = Validator.PlanFor(message);
        foreach (var field in plan.Fields)
        {
            foreach (var rules in new[] { field.Rules, field.Rules.Items, field.Rules.Keys, field.Rules.Values }.OfType<CompiledRules>())
            {
                used.UnionWith(rules.Checks.Select(c => c.Rule));
                if (rules.Required)
                {
                    used.Add(rules.RequiredRule);
                }
            }

            if (field.Field.FieldType == Google.Protobuf.Reflection.FieldType.Message)
            {
                CollectRuleKinds(field.Field.MessageType, used, seen);
            }
        }
    }

    [Test]
    public void Validate_SeveralDefects_ReportsEveryOne()
    {
        var routes = EnvoyExamples.RouteConfiguration();
        routes.VirtualHosts[0].Name = string.Empty;
        routes.VirtualHosts[0].Routes[1].Match = null;
        routes.VirtualHosts[0].Routes[2].ClearAction();

        var result = Validator.Validate(routes);

        Assert.That(
            result.Violations.Select(v => v.FieldPath),
            Is.EqualTo(new[] { "virtual_hosts[0].name", "virtual_hosts[0].routes[1].match", "virtual_hosts[0].routes[2].action" }));
    }

    [Test]
    public void Validate_Violation_NamesOwningMessageAndRequirement()
    {
        var cluster = EnvoyExamples.Cluster();
        cluster.Name = string.Empty;

        var violation = Validator.Validate(cluster).Violations.Single();

        Assert.Multiple(() =>
        {
            Assert.That(violation.MessageType, Is.EqualTo("envoy.config.cluster.v3.Cluster"));
            Assert.That(violation.ToString(), Is.EqualTo("name: value length must be at least 1 characters (string.min_len)"));
        });
    }

    [Test]
    public void Validate_UnknownTypeInAny_IsAcceptedByDefaultAndRejectedWhenAsked()
    {
        var listener = EnvoyExamples.GatewayListener();
        listener.FilterChains[0].Filters[0].TypedConfig = new Any { TypeUrl = "type.googleapis.com/example.Unknown", Value = ByteString.CopyFromUtf8("x") };
        var strict = new EnvoyRulesValidator(new EnvoyRulesValidatorOptions { RejectUnknownAnyTypes = true });

        Assert.Multiple(() =>
        {
            Assert.That(Validator.Validate(listener).IsValid, Is.True);
            Assert.That(
                strict.Validate(listener).Violations.Select(v => (v.FieldPath, v.Rule)),
                Is.EqualTo(new[] { ("filter_chains[0].filters[0].typed_config", "any.known_type") }));
        });
    }

    [Test]
    public void Validate_AnyWithUndecodableBytes_ReportsIt()
    {
        var listener = EnvoyExamples.GatewayListener();
        listener.FilterChains[0].Filters[0].TypedConfig = new Any
        {
            TypeUrl = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            Value = ByteString.CopyFrom(0xFF, 0xFF, 0xFF),
        };

        var violation = Validator.Validate(listener).Violations.Single();

        Assert.That((violation.FieldPath, violation.Rule), Is.EqualTo(("filter_chains[0].filters[0].typed_config", "any.decodable")));
    }
}
