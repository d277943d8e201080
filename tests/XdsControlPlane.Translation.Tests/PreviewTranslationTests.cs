using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.ExtAuthz.V3;
using Envoy.Extensions.Filters.Http.LocalRatelimit.V3;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation.HttpFilters;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// Preview hosts at the gateway (the golden case <c>previews</c> holds the whole output): only the gateway gets them and
/// their filters, only with a preview domain; the routing key replaces what the client sent; authorization and rate
/// limiting apply to preview hosts alone; a warm translator matches a fresh one through edits of what previews read.
/// </summary>
public sealed class PreviewTranslationTests
{
    private static readonly TranslationOptions Previews = GoldenTests.OptionsOf("previews");

    private static RoutingInputs Inputs => RepoManifests.Load(RepoDirectory.Path("tests", "XdsControlPlane.Translation.Tests", "Golden", "previews")).Inputs;

    [Test]
    public void Translate_WithoutPreviewDomain_NoPreviewHostsAndTheChainIsTheRouterOnly()
    {
        var result = new RoutingTranslator().Translate(Inputs);

        Assert.Multiple(() =>
        {
            Assert.That(GatewayHosts(result).Select(h => h.Name), Has.None.Contains("preview.example.com"));
            Assert.That(ConnectionManager(result).HttpFilters.Select(f => f.Name), Is.EqualTo(new[] { "envoy.filters.http.router" }));
            Assert.That(ConnectionManager(result).LocalReplyConfig, Is.Null);
        });
    }

    [Test]
    public void Translate_Previews_OnlyTheGatewayGetsHostsAndFilters()
    {
        var result = new RoutingTranslator(Previews).Translate(Inputs);

        Assert.Multiple(() =>
        {
            Assert.That(ConnectionManager(result).HttpFilters.Select(f => (f.Name, f.Disabled)), Is.EqualTo(new[]
            {
                (ExtAuthzFilter.FilterName, true), (LocalRateLimitFilter.FilterName, true), ("envoy.filters.http.router", false),
            }));
            foreach (var role in new[] { DataPlaneRoles.Sidecar, DataPlaneRoles.Grpc })
            {
                var routes = result.Groups[role].Select(r => r.Message).OfType<RouteConfiguration>().ToArray();
                Assert.That(routes.SelectMany(r => r.VirtualHosts).SelectMany(h => h.Domains), Has.None.Contains("preview.example.com"), role);
                Assert.That(routes.SelectMany(r => r.VirtualHosts).SelectMany(h => h.TypedPerFilterConfig.Keys), Has.None.EqualTo(ExtAuthzFilter.FilterName), role);
                var chains = result.Groups[role].Select(r => r.Message).OfType<Listener>().SelectMany(HttpFilterNames);
                Assert.That(chains, Has.None.EqualTo(ExtAuthzFilter.FilterName).And.None.EqualTo(LocalRateLimitFilter.FilterName), role);
            }

            foreach (var resource in result.Groups.Values.SelectMany(r => r))
            {
                Assert.That(EnvoyRulesValidator.Default.Validate(resource.Message).Violations, Is.Empty, resource.ToString());
            }
        });
    }

    [Test]
    public void Translate_PreviewHost_RoutingKeyReplacesWhatTheClientSent_AndReachesTheFork()
    {
        var host = PreviewHost(new RoutingTranslator(Previews).Translate(Inputs), Sandbox.KindName, "feature-x", "cart");
        var route = host.Routes.Single();

        Assert.Multiple(() =>
        {
            Assert.That(host.Domains, Is.EqualTo(new[] { host.Name, host.Name + ":*" }));
            Assert.That(route.Match.Prefix, Is.EqualTo("/"));
            Assert.That(route.Route_.Cluster, Is.EqualTo("outbound|8080||cart-feature-x.shop.svc.cluster.local"));
            Assert.That(route.Route_.Timeout.ToTimeSpan(), Is.EqualTo(TimeSpan.Zero), "no timeout: WebSockets and long polls stay open");
            Assert.That(route.RequestHeadersToAdd.Select(h => (h.Header.Key, h.Header.Value, h.AppendAction)), Is.EquivalentTo(new[]
            {
                ("x-routing-key", "feature-x", HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd),
                ("baggage", "routing-key=feature-x", HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd),
            }));
            Assert.That(route.RequestHeadersToAdd.Select(h => h.KeepEmptyValue), Has.All.False);
        });
    }

    [TestCase(Sandbox.KindName, "review", "cart", "outbound|8080||cart.shop.svc.cluster.local", "review", Description = "not forked: the baseline")]
    [TestCase(LocalWorkload.KindName, "alice-cart", "cart", "local|8080||alice-cart.shop", "alice", Description = "connected laptop: its tunnel")]
    [TestCase(LocalWorkload.KindName, "carol-cart", "cart", "outbound|8080||cart.shop.svc.cluster.local", "carol", Description = "disconnected laptop: the baseline")]
    public void Translate_PreviewHost_SendsToTheOwnersVersion(string kind, string owner, string service, string cluster, string key)
    {
        var result = new RoutingTranslator(Previews).Translate(Inputs);
        var route = PreviewHost(result, kind, owner, service).Routes.Single();

        Assert.Multiple(() =>
        {
            Assert.That(route.Route_.Cluster, Is.EqualTo(cluster));
            Assert.That(result.Groups[DataPlaneRoles.Gateway].Where(r => r.TypeUrl == Xds.Resources.TypeUrls.Cluster).Select(r => r.Name), Does.Contain(cluster), "the cluster is served");
            Assert.That(route.RequestHeadersToAdd.Single(h => h.Header.Key == "x-routing-key").Header.Value, Is.EqualTo(key));
        });
    }

    [TestCase(Sandbox.KindName, "feature-x", "cart")]
    [TestCase(Sandbox.KindName, "review", "cart")]
    [TestCase(LocalWorkload.KindName, "alice-cart", "cart")]
    [TestCase(LocalWorkload.KindName, "carol-cart", "cart")]
    public void OwnersOf_PreviewHost_IsTheOneObjectWhosePreviewItServes(string kind, string owner, string service)
    {
        var result = new RoutingTranslator(Previews).Translate(Inputs);

        Assert.That(result.OwnersOf(PreviewHost(result, kind, owner, service).Name), Is.EqualTo(new[] { new ResourceKey(kind, "shop", owner) }));
    }

    [Test]
    public void Translate_PreviewHosts_AuthorizationPerAccessLevel_RateLimitFromOptionsOrOwner()
    {
        var result = new RoutingTranslator(Previews).Translate(Inputs);
        var publicHost = PreviewHost(result, Sandbox.KindName, "feature-x", "cart");
        var sharedHost = PreviewHost(result, Sandbox.KindName, "feature-x", "web");
        var personalHost = PreviewHost(result, Sandbox.KindName, "review", "cart");

        Assert.Multiple(() =>
        {
            foreach (var (host, access) in new[] { (publicHost, Preview.Public), (sharedHost, Preview.Shared), (personalHost, Preview.Personal) })
            {
                var check = host.TypedPerFilterConfig[ExtAuthzFilter.FilterName].Unpack<ExtAuthzPerRoute>().CheckSettings.ContextExtensions;
                Assert.That(check[PreviewAuthorizationContext.Access], Is.EqualTo(access));
                Assert.That(check[PreviewAuthorizationContext.Host], Is.EqualTo(host.Name));
                Assert.That(check.Keys, Is.EquivalentTo(new[]
                {
                    PreviewAuthorizationContext.OwnerKind, PreviewAuthorizationContext.Namespace, PreviewAuthorizationContext.OwnerName, PreviewAuthorizationContext.Service,
                    PreviewAuthorizationContext.Port, PreviewAuthorizationContext.Access, PreviewAuthorizationContext.Host,
                }));
                var routeConfig = host.Routes.Single().TypedPerFilterConfig;
                Assert.That(routeConfig.ContainsKey(ExtAuthzFilter.FilterName), Is.EqualTo(access == Preview.Public), access);
            }

            Assert.That(publicHost.Routes.Single().TypedPerFilterConfig[ExtAuthzFilter.FilterName].Unpack<ExtAuthzPerRoute>().Disabled, Is.True);
            var own = sharedHost.TypedPerFilterConfig[LocalRateLimitFilter.FilterName].Unpack<LocalRateLimit>();
            var byDefault = personalHost.TypedPerFilterConfig[LocalRateLimitFilter.FilterName].Unpack<LocalRateLimit>();
            Assert.That((own.TokenBucket.TokensPerFill, own.TokenBucket.MaxTokens), Is.EqualTo((5u, 10u)), "the Sandbox's spec.previewRateLimit");
            Assert.That((byDefault.TokenBucket.TokensPerFill, byDefault.TokenBucket.MaxTokens), Is.EqualTo(((uint)Previews.PreviewRequestsPerSecond, (uint)Previews.PreviewBurst)));
            Assert.That(byDefault.TokenBucket.FillInterval.ToTimeSpan(), Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That((byDefault.FilterEnabled.DefaultValue.Numerator, byDefault.FilterEnabled.DefaultValue.Denominator), Is.EqualTo((100u, global::Envoy.Type.V3.FractionalPercent.Types.DenominatorType.Hundred)));
            Assert.That((byDefault.FilterEnforced.DefaultValue.Numerator, byDefault.FilterEnforced.DefaultValue.Denominator), Is.EqualTo((100u, global::Envoy.Type.V3.FractionalPercent.Types.DenominatorType.Hundred)));
            Assert.That(byDefault.EnableXRatelimitHeaders, Is.EqualTo(global::Envoy.Extensions.Common.Ratelimit.V3.XRateLimitHeadersRFCVersion.DraftVersion03));
            var services = GatewayHosts(result).Where(h => !h.Name.EndsWith("preview.example.com", StringComparison.Ordinal)).ToArray();
            Assert.That(services, Is.Not.Empty);
            Assert.That(services.SelectMany(h => h.TypedPerFilterConfig.Keys.Concat(h.Routes.SelectMany(r => r.TypedPerFilterConfig.Keys))), Is.Empty, "Service hosts run neither filter");
        });
    }

    [Test]
    public void Translate_Previews_ExtAuthzCallsTheControlPlaneFailingClosed_RateLimitedRepliesGetABody()
    {
        var hcm = ConnectionManager(new RoutingTranslator(Previews).Translate(Inputs));
        var authz = hcm.HttpFilters.Single(f => f.Name == ExtAuthzFilter.FilterName).TypedConfig.Unpack<ExtAuthz>();

        Assert.Multiple(() =>
        {
            Assert.That(authz.GrpcService.EnvoyGrpc.ClusterName, Is.EqualTo(EnvoyBootstrapRenderer.ControlPlaneCluster));
            Assert.That(authz.GrpcService.Timeout.ToTimeSpan(), Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(authz.FailureModeAllow, Is.False);
            Assert.That(authz.StatusOnError.Code, Is.EqualTo(global::Envoy.Type.V3.StatusCode.ServiceUnavailable));
            Assert.That(authz.TransportApiVersion, Is.EqualTo(ApiVersion.V3));
            Assert.That(authz.IncludePeerCertificate, Is.False);
            Assert.That(authz.AllowedHeaders.Patterns.Select(p => p.Exact), Is.SupersetOf(new[] { "cookie", "authorization", "accept", "origin", "access-control-request-method" }));
            var mapper = hcm.LocalReplyConfig.Mappers.Single();
            Assert.That(mapper.Filter.ResponseFlagFilter.Flags, Is.EqualTo(new[] { "RL" }));
            Assert.That(mapper.Body.InlineString, Is.EqualTo(LocalRateLimitFilter.RateLimitedBody));
            Assert.That(hcm.UpgradeConfigs.Select(u => u.UpgradeType), Does.Contain("websocket"));
        });
    }

    [Test]
    public void Translate_PreviewsWithScopedRoutes_ResourcesPassEnvoyRulesAndConsistency()
    {
        var result = new RoutingTranslator(Previews with { ScopedRoutes = true }).Translate(Inputs);

        Assert.Multiple(() =>
        {
            foreach (var resource in result.Groups[DataPlaneRoles.Gateway])
            {
                Assert.That(EnvoyRulesValidator.Default.Validate(resource.Message).Violations, Is.Empty, resource.ToString());
            }

            Assert.That(Xds.Resources.SnapshotConsistency.Check(Xds.Resources.Snapshot.Create(result.Groups[DataPlaneRoles.Gateway])), Is.Empty);
            Assert.That(result.Groups[DataPlaneRoles.Gateway].Select(r => r.Message).OfType<RouteConfiguration>().SelectMany(r => r.VirtualHosts).Select(h => h.Name), Has.Some.EndsWith(".preview.example.com"));
        });
    }

    [Test]
    public void Translate_RandomEditsOfWhatPreviewsRead_WarmTranslatorAlwaysMatchesAFreshOne()
    {
        var random = new Random(20261206);
        var objects = new List<IManifestObject>([.. Inputs.Services, .. Inputs.Sandboxes, .. Inputs.LocalWorkloads]);
        objects.Add(new RouteGroup
        {
            Metadata = new ObjectMeta { Namespace = "shop", Name = "beta" },
            Spec = new RouteGroupSpec { Routes = [new RouteRule { Service = "web", Port = 80, To = [new Destination { Service = "web" }] }] },
        });
        var fork = objects.OfType<KubeService>().Single(s => s.Metadata.Name == "cart-feature-x");
        var warm = new RoutingTranslator(Previews);
        warm.Translate(new RoutingInputs(objects));
        T Pick<T>() => objects.OfType<T>().ElementAt(random.Next(objects.OfType<T>().Count()));
        void Replace(IManifestObject before, IManifestObject after) => objects[objects.FindIndex(o => ReferenceEquals(o, before))] = after;
        string[] access = [Preview.Public, Preview.Shared, Preview.Personal];
        string[] kinds = ["sandbox key", "sandbox access", "sandbox limit", "fork", "local workload", "route group"];
        for (var step = 0; step < 60; step++)
        {
            var kind = kinds[random.Next(kinds.Length)];
            if (kind is "sandbox key" or "sandbox access" or "sandbox limit")
            {
                var sandbox = Pick<Sandbox>();
                var spec = kind switch
                {
                    "sandbox key" => sandbox.Spec with { RoutingKey = $"key-{random.Next(3)}" },
                    "sandbox access" => sandbox.Spec with { Previews = [.. sandbox.Spec.Previews.Select(p => p with { Access = access[random.Next(3)] })] },
                    _ => sandbox.Spec with { PreviewRateLimit = random.Next(2) == 0 ? null : new PreviewRateLimit { RequestsPerSecond = 1 + random.Next(5), Burst = 10 } },
                };
                Replace(sandbox, sandbox with { Spec = spec });
            }

            if (kind is "fork")
            {
                // The fork Service comes and goes: the preview switches between the fork and the baseline.
                if (!objects.Remove(fork))
                {
                    objects.Add(fork);
                }
            }

            if (kind is "local workload")
            {
                var workload = Pick<LocalWorkload>();
                var status = workload.IsRoutable
                    ? new LocalWorkloadStatus { Phase = LocalWorkloadPhase.Disconnected }
                    : new LocalWorkloadStatus { Phase = LocalWorkloadPhase.Connected, Tunnel = new TunnelStatus { Address = "10.0.0.7", Ports = [new TunnelPort { Port = 8080, BrokerPort = 18150 }] } };
                Replace(workload, workload with { Status = status });
            }

            if (kind is "route group")
            {
                var group = Pick<RouteGroup>();
                Replace(group, group with { Spec = group.Spec with { Routes = [group.Spec.Routes[0] with { Match = new Model.RouteMatch { PathPrefix = $"/edit-{random.Next(3)}" } }] } });
            }

            var inputs = new RoutingInputs(objects);
            var incremental = warm.Translate(inputs);
            var fresh = new RoutingTranslator(Previews).Translate(inputs);
            foreach (var role in DataPlaneRoles.All)
            {
                Assert.That(incremental.Groups[role].Select(r => r.ToString()), Is.EqualTo(fresh.Groups[role].Select(r => r.ToString())), $"step {step} ({kind}), {role}");
            }
        }
    }

    private static VirtualHost PreviewHost(TranslationResult result, string kind, string owner, string service)
    {
        var host = PreviewHostNames.Host(kind, "shop", owner, service, PortOf(service), Previews.PreviewSalt, Previews.PreviewDomain);
        return GatewayHosts(result).Single(h => h.Name == host);
    }

    private static int PortOf(string service) => service == "web" ? 80 : 8080;

    private static IEnumerable<VirtualHost> GatewayHosts(TranslationResult result) =>
        result.Groups[DataPlaneRoles.Gateway].Select(r => r.Message).OfType<RouteConfiguration>().SelectMany(r => r.VirtualHosts);

    private static Hcm ConnectionManager(TranslationResult result) =>
        result.Groups[DataPlaneRoles.Gateway].Select(r => r.Message).OfType<Listener>().Single()
            .FilterChains.Single().Filters.Single().TypedConfig.Unpack<Hcm>();

    private static IEnumerable<string> HttpFilterNames(Listener listener) =>
        listener.FilterChains.SelectMany(c => c.Filters).Select(f => f.TypedConfig).Append(listener.ApiListener?.ApiListener_)
            .Where(a => a is not null && a.Is(Hcm.Descriptor)).SelectMany(a => a!.Unpack<Hcm>().HttpFilters.Select(f => f.Name));
}
