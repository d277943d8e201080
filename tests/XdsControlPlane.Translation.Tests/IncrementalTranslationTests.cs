using Envoy.Config.Endpoint.V3;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Translation.Tests;

/// <summary>A warm translator gives exactly what a fresh one gives, and re-translates only what a change touches.</summary>
public sealed class IncrementalTranslationTests
{
    private const string CartRoutes = "cart.shop.svc.cluster.local:8080";
    private const string CheckoutRoutes = "checkout.shop.svc.cluster.local:9090";

    [Test]
    public void Translate_OneRouteGroupChanged_SameOutputAsFreshTranslatorAndUntouchedResourcesReused()
    {
        var objects = RepoManifests.Load(RepoDirectory.Path("examples", "shop")).Inputs;
        var all = AllObjects(objects);
        var warm = new RoutingTranslator();
        var before = warm.Translate(objects);

        var canary = objects.RouteGroups.Single(g => g.Metadata.Name == "checkout-canary");
        var edited = canary with
        {
            Spec = canary.Spec with { Routes = [.. canary.Spec.Routes.Take(1), canary.Spec.Routes[1] with { To = [new Destination { Service = "checkout-v2", Weight = 50 }, new Destination { Service = "checkout", Weight = 50 }] }] },
        };
        var changed = new RoutingInputs(all.Select(o => ReferenceEquals(o, canary) ? edited : o));
        var after = warm.Translate(changed);
        var fresh = new RoutingTranslator().Translate(changed);

        foreach (var group in DataPlaneRoles.All)
        {
            Assert.That(Snapshot.Create(after.Groups[group]).Version, Is.EqualTo(Snapshot.Create(fresh.Groups[group]).Version), group);
        }

        Assert.Multiple(() =>
        {
            Assert.That(Find(after, "grpc", TypeUrls.RouteConfiguration, CheckoutRoutes), Is.Not.SameAs(Find(before, "grpc", TypeUrls.RouteConfiguration, CheckoutRoutes)), "the changed route is rebuilt");
            Assert.That(Find(after, "grpc", TypeUrls.RouteConfiguration, CartRoutes), Is.SameAs(Find(before, "grpc", TypeUrls.RouteConfiguration, CartRoutes)), "other Services' routes are reused");
            Assert.That(Find(after, "grpc", TypeUrls.Cluster, "outbound|9090||checkout.shop.svc.cluster.local"), Is.SameAs(Find(before, "grpc", TypeUrls.Cluster, "outbound|9090||checkout.shop.svc.cluster.local")), "clusters are reused");
            Assert.That(Find(after, "sidecar", TypeUrls.RouteConfiguration, "8080"), Is.SameAs(Find(before, "sidecar", TypeUrls.RouteConfiguration, "8080")), "the sidecar's port 8080 routes are untouched");
            Assert.That(Find(after, "grpc", TypeUrls.Listener, CheckoutRoutes), Is.SameAs(Find(before, "grpc", TypeUrls.Listener, CheckoutRoutes)), "the changed port's API listeners name the same route configuration: kept");
        });
    }

    [Test]
    public void Translate_RandomSequenceOfEdits_WarmTranslatorAlwaysMatchesAFreshOne()
    {
        var random = new Random(20261124);
        var inputs = RepoManifests.Load(RepoDirectory.Path("tests", "XdsControlPlane.Translation.Tests", "Golden", "edge-cases", "input")).Inputs;
        var shop = RepoManifests.Load(RepoDirectory.Path("examples", "shop")).Inputs;
        inputs = new RoutingInputs([.. AllObjects(inputs), .. AllObjects(shop)]);
        var warm = new RoutingTranslator();
        warm.Translate(inputs);
        string[] services = ["cart", "checkout", "frontend"];
        for (var step = 0; step < 60; step++)
        {
            var name = $"random-{random.Next(4)}";
            var target = services[random.Next(services.Length)];
            var port = target == "frontend" ? 8080 : target == "checkout" ? 9090 : random.Next(2) == 0 ? 8080 : 9090;
            var group = new RouteGroup
            {
                Metadata = new ObjectMeta { Name = name, Namespace = "shop" },
                Spec = new RouteGroupSpec
                {
                    RoutingKey = $"key-{random.Next(3)}",
                    Routes =
                    [
                        new RouteRule
                        {
                            Service = target,
                            Port = port,
                            Match = random.Next(2) == 0 ? null : new RouteMatch { PathPrefix = $"/p{random.Next(3)}" },
                            To = target == "checkout"
                                ? [new Destination { Service = "checkout-v2", Weight = 30 + random.Next(40) }, new Destination { Service = "checkout", Weight = 0 }]
                                : [new Destination { Service = target == "cart" ? "cart-feature-x" : "frontend" }],
                        },
                    ],
                },
            };
            if (group.Spec.Routes[0].To.Count == 2)
            {
                var first = group.Spec.Routes[0].To[0];
                group = group with { Spec = group.Spec with { Routes = [group.Spec.Routes[0] with { To = [first, new Destination { Service = "checkout", Weight = 100 - first.Weight }] }] } };
            }

            inputs = inputs.WithRouteGroup(group);
            var incremental = warm.Translate(inputs);
            var fresh = new RoutingTranslator().Translate(inputs);
            foreach (var role in DataPlaneRoles.All)
            {
                Assert.That(
                    incremental.Groups[role].Select(r => r.ToString()),
                    Is.EqualTo(fresh.Groups[role].Select(r => r.ToString())),
                    $"step {step}, {role}, after {group.Metadata.Name} → {target}:{port}");
            }
        }
    }

    [Test]
    public void Translate_RandomEditsOfEveryKind_WarmTranslatorAlwaysMatchesAFreshOne()
    {
        var random = new Random(20261201);
        var edge = RepoManifests.Load(RepoDirectory.Path("tests", "XdsControlPlane.Translation.Tests", "Golden", "edge-cases", "input")).Inputs;
        var shop = RepoManifests.Load(RepoDirectory.Path("examples", "shop")).Inputs;
        var objects = new List<IManifestObject>([.. AllObjects(edge), .. AllObjects(shop)]);
        var warm = new RoutingTranslator();
        warm.Translate(new RoutingInputs(objects));
        T Pick<T>() => objects.OfType<T>().ElementAt(random.Next(objects.OfType<T>().Count()));
        void Replace(IManifestObject before, IManifestObject after) => objects[objects.FindIndex(o => ReferenceEquals(o, before))] = after;

        string[] kinds = ["endpoint", "slice added or removed", "service", "sandbox", "local workload", "route group", "endpoint and route group"];
        for (var step = 0; step < 80; step++)
        {
            var kind = kinds[random.Next(kinds.Length)];
            if (kind is "endpoint" or "endpoint and route group")
            {
                var slice = Pick<EndpointSlice>();
                var endpoint = new SliceEndpoint { Addresses = [$"10.9.{random.Next(4)}.{random.Next(250)}"], Conditions = new EndpointConditions { Ready = random.Next(3) > 0 } };
                Replace(slice, slice with { Endpoints = [.. slice.Endpoints.Take(random.Next(2)), endpoint] });
            }

            if (kind is "slice added or removed")
            {
                if (objects.OfType<EndpointSlice>().FirstOrDefault(e => e.Metadata.Name.StartsWith("extra-", StringComparison.Ordinal)) is { } extra)
                {
                    objects.Remove(extra);
                }
                else
                {
                    var service = Pick<KubeService>();
                    objects.Add(new EndpointSlice
                    {
                        Metadata = new ObjectMeta { Name = $"extra-{step}", Namespace = service.Metadata.Namespace, Labels = new Dictionary<string, string> { [EndpointSlice.ServiceNameLabel] = service.Metadata.Name } },
                        Endpoints = [new SliceEndpoint { Addresses = [$"10.8.0.{step}"] }],
                        Ports = [.. service.Spec.Ports.Select(p => new SlicePort { Name = p.Name, Port = 20000 + p.Port })],
                    });
                }
            }

            if (kind is "service")
            {
                var service = Pick<KubeService>();
                Replace(service, service with { Metadata = service.Metadata with { Labels = new Dictionary<string, string>(service.Metadata.Labels) { ["edited"] = $"{step}" } } });
            }

            if (kind is "sandbox" && objects.OfType<Sandbox>().Any())
            {
                var sandbox = Pick<Sandbox>();
                Replace(sandbox, sandbox with { Spec = sandbox.Spec with { RoutingKey = $"sandbox-key-{random.Next(3)}" } });
            }

            if (kind is "local workload")
            {
                var workload = Pick<LocalWorkload>();
                Replace(workload, workload with { Status = new LocalWorkloadStatus { Phase = workload.IsRoutable ? "Disconnected" : "Connected" } });
            }

            if (kind is "route group" or "endpoint and route group")
            {
                var group = Pick<RouteGroup>();
                var rule = group.Spec.Routes[0];
                Replace(group, group with { Spec = group.Spec with { Routes = [rule with { Match = new RouteMatch { PathPrefix = $"/edit-{random.Next(3)}" } }, .. group.Spec.Routes.Skip(1)] } });
            }

            var inputs = new RoutingInputs(objects);
            var incremental = warm.Translate(inputs);
            var fresh = new RoutingTranslator().Translate(inputs);
            foreach (var role in DataPlaneRoles.All)
            {
                Assert.That(incremental.Groups[role].Select(r => r.ToString()), Is.EqualTo(fresh.Groups[role].Select(r => r.ToString())), $"step {step} ({kind}), {role}");
            }

            Assert.That(incremental.Problems.Select(p => p.ToString()), Is.EquivalentTo(fresh.Problems.Select(p => p.ToString())), $"step {step} ({kind}), problems");
        }
    }

    [Test]
    public void Translate_EndpointChange_RebuildsOnlyThatServicesAssignments()
    {
        var objects = AllObjects(RepoManifests.Load(RepoDirectory.Path("examples", "shop")).Inputs);
        var warm = new RoutingTranslator();
        var before = warm.Translate(new RoutingInputs(objects));
        var slice = objects.OfType<EndpointSlice>().Single(e => e.Metadata.Name == "cart-1");
        var after = warm.Translate(new RoutingInputs(objects.Select(o => ReferenceEquals(o, slice) ? slice with { Endpoints = [new SliceEndpoint { Addresses = ["10.1.2.3"] }] } : o)));

        foreach (var role in DataPlaneRoles.All)
        {
            var changed = after.Groups[role].Where(r => !ReferenceEquals(r, before.Groups[role].SingleOrDefault(b => b.TypeUrl == r.TypeUrl && b.Name == r.Name))).Select(r => r.ToString()).ToArray();
            Assert.That(changed, Has.Length.GreaterThan(0).And.All.StartsWith("EDS outbound|").And.All.Contains("||cart.shop.svc.cluster.local@"), role);
        }
    }

    [Test]
    public void Translate_ReorderedRules_ClusterNamesDoNotChurn()
    {
        var objects = RepoManifests.Load(RepoDirectory.Path("examples", "shop")).Inputs;
        var canary = objects.RouteGroups.Single(g => g.Metadata.Name == "checkout-canary");
        var reordered = canary with { Spec = canary.Spec with { Routes = [.. canary.Spec.Routes.Reverse()] } };
        var before = new RoutingTranslator().Translate(objects);
        var after = new RoutingTranslator().Translate(new RoutingInputs(AllObjects(objects).Select(o => ReferenceEquals(o, canary) ? reordered : o)));

        foreach (var group in DataPlaneRoles.All)
        {
            Assert.That(
                after.Groups[group].Where(r => r.TypeUrl == TypeUrls.Cluster).Select(r => r.Version),
                Is.EqualTo(before.Groups[group].Where(r => r.TypeUrl == TypeUrls.Cluster).Select(r => r.Version)),
                group);
        }
    }

    [Test]
    public void Translate_DisconnectedLocalWorkload_RoutesFallBackToBaseline()
    {
        var service = new KubeService { Metadata = new ObjectMeta { Name = "api", Namespace = "dev" }, Spec = new KubeServiceSpec { Ports = [new KubeServicePort { Name = "http", Port = 80 }] } };
        LocalWorkload Laptop(string? phase) => new()
        {
            Metadata = new ObjectMeta { Name = "alice", Namespace = "dev" },
            Spec = new LocalWorkloadSpec { RoutingKey = "alice", Service = "api", Ports = [new LocalPort { Port = 80 }] },
            Status = phase is null ? null : new LocalWorkloadStatus
            {
                Phase = phase,
                Tunnel = new TunnelStatus { Address = "10.0.0.9", Ports = [new TunnelPort { Port = 80, BrokerPort = 18100 }] },
            },
        };

        var connected = new RoutingTranslator().Translate(new RoutingInputs([service, Laptop("Connected")]));
        var disconnected = new RoutingTranslator().Translate(new RoutingInputs([service, Laptop("Disconnected")]));
        var neverConnected = new RoutingTranslator().Translate(new RoutingInputs([service, Laptop(null)]));

        Assert.Multiple(() =>
        {
            Assert.That(Clusters(connected), Does.Contain("local|80||alice.dev"));
            var endpoint = ((ClusterLoadAssignment)Find(connected, "grpc", TypeUrls.ClusterLoadAssignment, "local|80||alice.dev")!.Message).Endpoints.Single().LbEndpoints.Single().Endpoint.Address.SocketAddress;
            Assert.That((endpoint.Address, endpoint.PortValue), Is.EqualTo(("10.0.0.9", 18100u)), "EDS names the broker port on the replica holding the tunnel");
            Assert.That(Clusters(disconnected), Does.Not.Contain("local|80||alice.dev"));
            Assert.That(Clusters(neverConnected), Does.Not.Contain("local|80||alice.dev"), "no tunnel, no route");
            Assert.That(Find(disconnected, "grpc", TypeUrls.RouteConfiguration, "api.dev.svc.cluster.local:80")!.References.Clusters, Is.EqualTo(new[] { "outbound|80||api.dev.svc.cluster.local" }));
        });
    }

    [Test]
    public void Translate_TwoRouteGroupsWithSameKeyAndConditions_LaterOneReportedAsNeverUsed()
    {
        var service = new KubeService { Metadata = new ObjectMeta { Name = "api", Namespace = "dev" }, Spec = new KubeServiceSpec { Ports = [new KubeServicePort { Name = "http", Port = 80 }] } };
        var v2 = service with { Metadata = new ObjectMeta { Name = "api-v2", Namespace = "dev" } };
        RouteGroup Group(string name, string prefix) => new()
        {
            Metadata = new ObjectMeta { Name = name, Namespace = "dev" },
            Spec = new RouteGroupSpec { RoutingKey = "k", Routes = [new RouteRule { Service = "api", Match = new RouteMatch { PathPrefix = prefix }, To = [new Destination { Service = "api-v2" }] }] },
        };

        var shadowed = new RoutingTranslator().Translate(new RoutingInputs([service, v2, Group("a", "/x"), Group("b", "/x")]));
        var distinct = new RoutingTranslator().Translate(new RoutingInputs([service, v2, Group("a", "/x"), Group("b", "/y")]));

        Assert.Multiple(() =>
        {
            Assert.That(shadowed.Problems.Select(p => p.ToString()), Is.EqualTo(new[] { "RouteGroup dev/b: spec.routes[0]: never used for api.dev:80: RouteGroup dev/a spec.routes[0] routes the same key 'k' with the same conditions first" }));
            Assert.That(distinct.Problems, Is.Empty);
        });
    }

    private static IEnumerable<string> Clusters(TranslationResult result) => result.Groups["sidecar"].Where(r => r.TypeUrl == TypeUrls.Cluster).Select(r => r.Name);

    private static List<IManifestObject> AllObjects(RoutingInputs inputs) =>
        [.. inputs.Services, .. inputs.Services.SelectMany(s => inputs.SlicesOf(s.Metadata.Namespace, s.Metadata.Name)), .. inputs.RouteGroups, .. inputs.Sandboxes, .. inputs.LocalWorkloads];

    private static XdsResource? Find(TranslationResult result, string group, string typeUrl, string name) =>
        result.Groups[group].SingleOrDefault(r => r.TypeUrl == typeUrl && r.Name == name);
}
