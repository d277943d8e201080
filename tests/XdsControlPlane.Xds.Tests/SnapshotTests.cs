using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Filter = Envoy.Config.Listener.V3.Filter;
using TcpProxy = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;

namespace XdsControlPlane.Xds.Tests;

public sealed class SnapshotTests
{
    [Test]
    public void Version_SameResourcesInAnyOrder_IsIdentical()
    {
        var a = TestResources.Snapshot("cart", "checkout");
        var b = Snapshot.Create(new[] { TestResources.Endpoints("checkout", 9000), TestResources.Cluster("checkout"), TestResources.Endpoints("cart", 9000), TestResources.Cluster("cart"), TestResources.Routes("routes", "cart", "checkout"), TestResources.Listener("http", "routes") });

        Assert.That(b.Version, Is.EqualTo(a.Version));
    }

    [Test]
    public void Version_OneResourceChanges_Changes()
    {
        var a = TestResources.Snapshot(["cart"], port: 9000);
        var b = TestResources.Snapshot(["cart"], port: 9001);

        Assert.Multiple(() =>
        {
            Assert.That(b.Version, Is.Not.EqualTo(a.Version));
            Assert.That(b.Find(TypeUrls.Cluster, "cart")!.Version, Is.EqualTo(a.Find(TypeUrls.Cluster, "cart")!.Version), "unchanged cluster keeps its version");
            Assert.That(b.Find(TypeUrls.ClusterLoadAssignment, "cart")!.Version, Is.Not.EqualTo(a.Find(TypeUrls.ClusterLoadAssignment, "cart")!.Version));
        });
    }

    [Test]
    public void With_ChangesAndRemovals_EqualsTheSnapshotCreatedWhole()
    {
        var before = TestResources.Snapshot("cart", "checkout", "payments");
        var changed = TestResources.Endpoints("cart", 9001);
        var added = TestResources.Cluster("orders");

        var after = before.With([changed, added], [(TypeUrls.ClusterLoadAssignment, "payments"), (TypeUrls.Cluster, "missing")]);
        var whole = Snapshot.Create(
            new[] { TestResources.Listener("http", "routes"), TestResources.Routes("routes", "cart", "checkout", "payments") }
                .Concat(new[] { "cart", "checkout", "payments", "orders" }.Select(c => TestResources.Cluster(c)))
                .Concat([changed, TestResources.Endpoints("checkout", 9000)]));

        Assert.Multiple(() =>
        {
            Assert.That(after.Version, Is.EqualTo(whole.Version));
            Assert.That(after.Count, Is.EqualTo(whole.Count));
            Assert.That(after.Resources(TypeUrls.ClusterLoadAssignment).Keys, Is.EquivalentTo(new[] { "cart", "checkout" }));
            Assert.That(after.Find(TypeUrls.ClusterLoadAssignment, "cart"), Is.SameAs(changed));
            Assert.That(before.Find(TypeUrls.ClusterLoadAssignment, "payments"), Is.Not.Null, "the base is not modified");
            Assert.That(before.Count, Is.EqualTo(8));
        });
    }

    [Test]
    public void With_KeepsTheSelectionsOfUntouchedTypes_AndRecomputesTouchedOnes()
    {
        var before = TestResources.Snapshot("cart", "checkout");
        var clusters = before.Select(TypeUrls.Cluster, wildcard: true, SubscriptionNames.None);
        var endpoints = before.Select(TypeUrls.ClusterLoadAssignment, wildcard: false, new SubscriptionNames(["cart"]));

        var after = before.With([TestResources.Endpoints("cart", 9001)], []);

        Assert.Multiple(() =>
        {
            Assert.That(after.Select(TypeUrls.Cluster, wildcard: true, SubscriptionNames.None), Is.SameAs(clusters));
            Assert.That(after.Select(TypeUrls.ClusterLoadAssignment, wildcard: false, new SubscriptionNames(["cart"])).Version, Is.Not.EqualTo(endpoints.Version));
        });
    }

    [Test]
    public void With_TheSameResourceTwice_OrReplacedAndRemoved_IsRejected()
    {
        var before = TestResources.Snapshot("cart");

        Assert.Multiple(() =>
        {
            Assert.That(() => before.With([TestResources.Cluster("x"), TestResources.Cluster("x")], []), Throws.ArgumentException.With.Message.Contains("'x' appears twice"));
            Assert.That(() => before.With([TestResources.Cluster("cart")], [(TypeUrls.Cluster, "cart")]), Throws.ArgumentException.With.Message.Contains("both replaced and removed"));
        });
    }

    [Test]
    public void Cache_ChecksADerivedSnapshot_ForWhatItsChangesReferTo()
    {
        var cache = new SnapshotCache();
        var served = TestResources.Snapshot("cart");
        Assert.That(cache.SetSnapshot("g", served).Accepted, Is.True);

        var dangling = served.With([TestResources.Routes("routes", "cart", "nowhere")], []);
        var removesUsed = served.With([], [(TypeUrls.ClusterLoadAssignment, "cart")]);
        var fine = served.With([TestResources.Endpoints("cart", 9001)], []);

        Assert.Multiple(() =>
        {
            Assert.That(cache.SetSnapshot("g", dangling).Problems, Is.EqualTo(new[] { "RDS 'routes' routes to CDS 'nowhere', which the snapshot does not contain." }));
            Assert.That(cache.SetSnapshot("g", removesUsed).Problems, Has.Some.Contains("CDS 'cart' loads endpoints from EDS 'cart'"));
            Assert.That(cache.SetSnapshot("g", fine).Accepted, Is.True);
            Assert.That(cache.GetSnapshot("g")!.Snapshot, Is.SameAs(fine));
        });
    }

    [Test]
    public void SubscriptionNames_SameAs_IgnoresOrderButNotDuplicatesOrMissingNames()
    {
        var names = new SubscriptionNames(["cluster-2", "cluster-10", "cluster-1"]);

        Assert.Multiple(() =>
        {
            Assert.That(names.SameAs(["cluster-1", "cluster-2", "cluster-10"]), Is.True);
            Assert.That(names.SameAs(["cluster-10", "cluster-1", "cluster-2"]), Is.True);
            Assert.That(names.SameAs(["cluster-1", "cluster-1", "cluster-2"]), Is.False, "a duplicate hides a missing name");
            Assert.That(names.SameAs(["cluster-1", "cluster-2", "cluster-3"]), Is.False);
            Assert.That(names.SameAs(["cluster-1", "cluster-2"]), Is.False);
            Assert.That(names.SameAs(["*", "cluster-1", "cluster-2"]), Is.False);
            Assert.That(SubscriptionNames.None.SameAs([]), Is.True);
        });
    }

    [Test]
    public void Create_DuplicateName_IsRejectedNamingIt()
    {
        Assert.That(
            () => Snapshot.Create([TestResources.Cluster("cart"), TestResources.Cluster("cart", connectTimeoutSeconds: 2)]),
            Throws.ArgumentException.With.Message.StartsWith("CDS resource 'cart' appears twice."));
    }

    [Test]
    public void Resource_UnsupportedTypeOrNoName_IsRejected()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => XdsResource.Create(new Node()), Throws.ArgumentException.With.Message.Contains("envoy.config.core.v3.Node is not an xDS resource type"));
            Assert.That(() => XdsResource.Create(new Secret()), Throws.ArgumentException.With.Message.Contains("has no name"));
        });
    }

    [Test]
    public void Consistency_CompleteSnapshot_HasNoProblems() =>
        Assert.That(SnapshotConsistency.Check(TestResources.Snapshot("cart", "checkout")), Is.Empty);

    [Test]
    public void Consistency_MissingReferences_AreEachNamed()
    {
        var tcp = XdsResource.Create(new Listener
        {
            Name = "postgres",
            FilterChains = { new FilterChain { Filters = { new Filter { Name = "tcp", TypedConfig = Any.Pack(new TcpProxy { StatPrefix = "pg", Cluster = "db" }) } } } },
        });
        var snapshot = Snapshot.Create([TestResources.Listener("http", "missing-routes"), tcp, TestResources.Routes("routes", "cart", "gone"), TestResources.Cluster("cart")]);

        Assert.That(SnapshotConsistency.Check(snapshot), Is.EqualTo(new[]
        {
            "CDS 'cart' loads endpoints from EDS 'cart', which the snapshot does not contain.",
            "LDS 'http' loads routes from RDS 'missing-routes', which the snapshot does not contain.",
            "LDS 'postgres' sends traffic to CDS 'db', which the snapshot does not contain.",
            "RDS 'routes' routes to CDS 'gone', which the snapshot does not contain.",
        }));
    }

    [Test]
    public void Consistency_MirrorExtAuthzAndSdsReferences_AreChecked()
    {
        static SdsSecretConfig Sds(string name, bool overAds) => new()
        {
            Name = name,
            SdsConfig = overAds ? TestResources.Ads() : new ConfigSource { PathConfigSource = new PathConfigSource { Path = "/etc/envoy/sds.yaml" } },
        };
        var routes = new Envoy.Config.Route.V3.RouteConfiguration
        {
            Name = "routes",
            VirtualHosts =
            {
                new Envoy.Config.Route.V3.VirtualHost
                {
                    Name = "all",
                    Domains = { "*" },
                    Routes =
                    {
                        new Envoy.Config.Route.V3.Route
                        {
                            Match = new Envoy.Config.Route.V3.RouteMatch { Prefix = "/" },
                            Route_ = new Envoy.Config.Route.V3.RouteAction
                            {
                                Cluster = "cart",
                                RequestMirrorPolicies = { new Envoy.Config.Route.V3.RouteAction.Types.RequestMirrorPolicy { Cluster = "shadow" } },
                            },
                        },
                    },
                },
            },
        };
        var listener = Listener.Parser.ParseFrom(TestResources.Listener("gateway", "routes").Message.ToByteString());
        var hcm = listener.FilterChains[0].Filters[0].TypedConfig.Unpack<Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager>();
        hcm.HttpFilters.Insert(0, new Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter
        {
            Name = "envoy.filters.http.ext_authz",
            TypedConfig = Any.Pack(new Envoy.Extensions.Filters.Http.ExtAuthz.V3.ExtAuthz
            {
                GrpcService = new GrpcService { EnvoyGrpc = new GrpcService.Types.EnvoyGrpc { ClusterName = "authz" } },
            }),
        });
        listener.FilterChains[0].Filters[0].TypedConfig = Any.Pack(hcm);
        listener.FilterChains[0].TransportSocket = new TransportSocket
        {
            Name = "envoy.transport_sockets.tls",
            TypedConfig = Any.Pack(new DownstreamTlsContext
            {
                CommonTlsContext = new CommonTlsContext { TlsCertificateSdsSecretConfigs = { Sds("gateway-cert", overAds: true), Sds("from-a-file", overAds: false) } },
            }),
        };
        var cluster = Envoy.Config.Cluster.V3.Cluster.Parser.ParseFrom(TestResources.Cluster("cart").Message.ToByteString());
        cluster.TransportSocket = new TransportSocket
        {
            Name = "envoy.transport_sockets.tls",
            TypedConfig = Any.Pack(new UpstreamTlsContext { CommonTlsContext = new CommonTlsContext { ValidationContextSdsSecretConfig = Sds("mesh-ca", overAds: true) } }),
        };
        var snapshot = Snapshot.Create(
        [
            XdsResource.Create(listener), XdsResource.Create(routes), XdsResource.Create(cluster), TestResources.Endpoints("cart", 9000),
            XdsResource.Create(new Secret { Name = "mesh-ca", ValidationContext = new CertificateValidationContext() }),
        ]);

        Assert.That(SnapshotConsistency.Check(snapshot), Is.EqualTo(new[]
        {
            "LDS 'gateway' sends traffic to CDS 'authz', which the snapshot does not contain.",
            "LDS 'gateway' loads the secret SDS 'gateway-cert', which the snapshot does not contain.",
            "RDS 'routes' routes to CDS 'shadow', which the snapshot does not contain.",
        }));
    }

    [Test]
    public void Consistency_ExtAuthzToTheBootstrapsStaticCluster_IsWhole()
    {
        var listener = Listener.Parser.ParseFrom(TestResources.Listener("gateway", "routes").Message.ToByteString());
        var hcm = listener.FilterChains[0].Filters[0].TypedConfig.Unpack<Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager>();
        hcm.HttpFilters.Insert(0, new Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter
        {
            Name = "envoy.filters.http.ext_authz",
            TypedConfig = Any.Pack(new Envoy.Extensions.Filters.Http.ExtAuthz.V3.ExtAuthz
            {
                GrpcService = new GrpcService { EnvoyGrpc = new GrpcService.Types.EnvoyGrpc { ClusterName = BootstrapClusters.ControlPlane } },
            }),
        });
        listener.FilterChains[0].Filters[0].TypedConfig = Any.Pack(hcm);
        var routes = new Envoy.Config.Route.V3.RouteConfiguration { Name = "routes" };

        Assert.That(SnapshotConsistency.Check(Snapshot.Create([XdsResource.Create(listener), XdsResource.Create(routes)])), Is.Empty, "the control plane's cluster is in every bootstrap, never in CDS");
    }

    [Test]
    public void Cache_InconsistentSnapshot_IsRejectedAndThePreviousOneKept()
    {
        var cache = new SnapshotCache();
        var good = TestResources.Snapshot("cart");
        cache.SetSnapshot("g", good);

        var update = cache.SetSnapshot("g", Snapshot.Create([TestResources.Routes("routes", "nowhere")]));

        Assert.Multiple(() =>
        {
            Assert.That(update.Accepted, Is.False);
            Assert.That(update.Problems, Has.One.Contains("CDS 'nowhere'"));
            Assert.That(cache.GetSnapshot("g")!.Snapshot, Is.SameAs(good));
        });
    }

    [Test]
    public void Cache_Watchers_AreWokenForTheirGroupOnlyAndNotForAnIdenticalSnapshot()
    {
        var cache = new SnapshotCache();
        var woken = new List<string>();
        using var a = cache.Watch("a", () => woken.Add("a"));
        using var b = cache.Watch("b", () => woken.Add("b"));

        cache.SetSnapshot("a", TestResources.Snapshot("cart"));
        cache.SetSnapshot("a", TestResources.Snapshot("cart"));
        cache.SetSnapshot("a", TestResources.Snapshot("cart", "checkout"));

        Assert.That(woken, Is.EqualTo(new[] { "a", "a" }));
    }

    [Test]
    public void Cache_DisposedWatch_IsNotWoken()
    {
        var cache = new SnapshotCache();
        var woken = 0;
        cache.Watch("a", () => woken++).Dispose();

        cache.SetSnapshot("a", TestResources.Snapshot("cart"));

        Assert.That(woken, Is.Zero);
    }

    [TestCase("gateway", "edge", "gateway/edge")]
    [TestCase("grpc", "shop", "grpc/shop")]
    [TestCase(null, "shop", "sidecar/shop")]
    [TestCase("", "", "sidecar/")]
    public void NodeGroup_IsRoleAndCluster(string? role, string cluster, string expected)
    {
        var node = new Node { Id = "n", Cluster = cluster };
        if (role is not null)
        {
            node.Metadata = new Struct { Fields = { [RoleAndClusterGroups.RoleKey] = Value.ForString(role) } };
        }

        Assert.That(new RoleAndClusterGroups().GroupOf(node), Is.EqualTo(expected));
    }
}
