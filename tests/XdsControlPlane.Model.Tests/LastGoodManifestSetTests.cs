namespace XdsControlPlane.Model.Tests;

[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class LastGoodManifestSetTests
{
    private const string Services = """
        apiVersion: v1
        kind: Service
        metadata: {name: cart, namespace: shop}
        spec: {ports: [{name: http, port: 8080}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: cart-v2, namespace: shop}
        spec: {ports: [{name: http, port: 8080}]}
        """;

    private readonly LastGoodManifestSet _set = new();

    [Test]
    public void Apply_ValidFiles_EverythingInForce()
    {
        var result = Apply(("a.yaml", Services), ("b.yaml", Group("one", 100)), ("c.yaml", Group("two", 100)));

        Assert.Multiple(() =>
        {
            Assert.That(result.Problems, Is.Empty);
            Assert.That(result.Inputs.RouteGroups.Select(g => g.Metadata.Name), Is.EqualTo(new[] { "one", "two" }));
            Assert.That(result.Inputs.Services, Has.Count.EqualTo(2));
        });
    }

    [Test]
    public void Apply_ObjectEditedIntoInvalidVersion_LastGoodVersionStaysAndOthersUpdate()
    {
        var good = _set.Apply([File("a.yaml", Services), File("b.yaml", Group("one", 100)), File("c.yaml", Group("two", 100))]).Inputs.RouteGroups[0];

        var result = Apply(("a.yaml", Services), ("b.yaml", Group("one", 90)), ("c.yaml", Group("two", 100, prefix: "/v2")));

        Assert.Multiple(() =>
        {
            Assert.That(result.Inputs.RouteGroups[0], Is.SameAs(good), "the last good version of 'one' stays in force");
            Assert.That(result.Inputs.RouteGroups[1].Spec.Routes[0].Match?.PathPrefix, Is.EqualTo("/v2"), "'two' is updated");
            Assert.That(result.KeptLastGood, Is.EqualTo(new[] { new ResourceKey("RouteGroup", "shop", "one") }));
            Assert.That(result.Problems.Select(p => p.ToString()), Has.Some.Contains("RouteGroup shop/one: spec.routes[0].to: weights must sum to 100, got 90"));
            Assert.That(result.Problems.Single().Location?.Source, Is.EqualTo("b.yaml"));
        });
    }

    [Test]
    public void Apply_FileStopsBeingYaml_EveryObjectItDefinedStays()
    {
        Apply(("a.yaml", Services), ("b.yaml", Group("one", 100) + "---\n" + Group("two", 100)));

        var result = Apply(("a.yaml", Services), ("b.yaml", "kind: [unclosed\n"));

        Assert.Multiple(() =>
        {
            Assert.That(result.Inputs.RouteGroups.Select(g => g.Metadata.Name), Is.EqualTo(new[] { "one", "two" }));
            Assert.That(result.KeptLastGood, Has.Count.EqualTo(2));
            Assert.That(result.Problems.Single().Reason, Does.StartWith("not valid YAML"));
        });
    }

    [Test]
    public void Apply_DocumentWithBadField_ThatObjectKeepsItsLastGoodVersion()
    {
        Apply(("a.yaml", Services), ("b.yaml", Group("one", 100)));

        var result = Apply(("a.yaml", Services), ("b.yaml", Group("one", 100).Replace("weight:", "weigth:", StringComparison.Ordinal)));

        Assert.Multiple(() =>
        {
            Assert.That(result.Inputs.RouteGroups.Select(g => g.Metadata.Name), Is.EqualTo(new[] { "one" }));
            Assert.That(result.KeptLastGood, Is.EqualTo(new[] { new ResourceKey("RouteGroup", "shop", "one") }));
        });
    }

    [Test]
    public void Apply_ServiceFileBrokenWhileARouteGroupIsEdited_EditTakesEffectAgainstTheKeptService()
    {
        var cart = Apply(("a.yaml", Services), ("b.yaml", Group("one", 100))).Inputs.Services[0];
        var brokenServices = Services.Replace("namespace: shop}\nspec: {ports: [{name: http, port: 8080}]}\n---", "namespace: shop}\nspec: {ports: [{name: http, port: http}]}\n---", StringComparison.Ordinal);

        var result = Apply(("a.yaml", brokenServices), ("b.yaml", Group("one", 100, prefix: "/v2")));

        Assert.Multiple(() =>
        {
            Assert.That(result.Inputs.RouteGroups.Single().Spec.Routes[0].Match?.PathPrefix, Is.EqualTo("/v2"), "the edited RouteGroup is in force");
            Assert.That(result.Inputs.FindService("shop", "cart"), Is.SameAs(cart), "the last good Service stays");
            Assert.That(result.KeptLastGood, Is.EqualTo(new[] { new ResourceKey("Service", "shop", "cart") }));
            Assert.That(result.Problems.Select(p => p.ToString()), Is.EqualTo(new[] { "a.yaml:4 (document 0): Service shop/cart: spec.ports[0].port: expected an integer" }));
        });
    }

    [Test]
    public void Apply_ObjectRemovedFromFiles_Removed()
    {
        Apply(("a.yaml", Services), ("b.yaml", Group("one", 100)), ("c.yaml", Group("two", 100)));

        var result = Apply(("a.yaml", Services), ("b.yaml", Group("one", 100)));

        Assert.That(result.Inputs.RouteGroups.Select(g => g.Metadata.Name), Is.EqualTo(new[] { "one" }));
    }

    [Test]
    public void Apply_InvalidObjectWithoutGoodVersion_LeftOut()
    {
        var result = Apply(("a.yaml", Services), ("b.yaml", Group("one", 90)), ("c.yaml", Group("two", 100)));

        Assert.Multiple(() =>
        {
            Assert.That(result.Inputs.RouteGroups.Select(g => g.Metadata.Name), Is.EqualTo(new[] { "two" }));
            Assert.That(result.KeptLastGood, Is.Empty);
            Assert.That(result.Problems, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public void Apply_SameObjectInTwoFiles_FirstByPathWinsAndTheOtherIsReported()
    {
        var result = Apply(("a.yaml", Services), ("z.yaml", Group("one", 100, prefix: "/z")), ("b.yaml", Group("one", 100, prefix: "/b")));

        Assert.Multiple(() =>
        {
            Assert.That(result.Inputs.RouteGroups.Single().Spec.Routes[0].Match?.PathPrefix, Is.EqualTo("/b"));
            Assert.That(result.Problems.Single().ToString(), Does.Contain("z.yaml").And.Contain("defined again; the definition in b.yaml"));
        });
    }

    [Test]
    public void Apply_FileRewrittenWithTheSameObjects_KeepsTheInstancesAndNothingChanges()
    {
        var first = Apply(("a.yaml", Services), ("b.yaml", Group("one", 100)));

        var again = Apply(("a.yaml", Services), ("b.yaml", "# a comment moves the lines\n" + Group("one", 100)));

        Assert.Multiple(() =>
        {
            Assert.That(again.InputsChanged, Is.False);
            Assert.That(again.Inputs, Is.SameAs(first.Inputs));
            Assert.That(again.Inputs.RouteGroups.Single(), Is.SameAs(first.Inputs.RouteGroups.Single()));
        });
    }

    [Test]
    public void Apply_OneRouteGroupEdited_OnlyItIsValidated_AServiceEditValidatesAll()
    {
        var services = File("a.yaml", Services);
        var two = File("c.yaml", Group("two", 100));
        _set.Apply([services, File("b.yaml", Group("one", 100)), two]);

        var routeGroupEdit = _set.Apply([services, File("b.yaml", Group("one", 100, prefix: "/v2")), two]);
        var serviceEdit = _set.Apply([File("a.yaml", Services.Replace("port: 8080}]}\n---", "port: 8080}, {name: admin, port: 9090}]}\n---", StringComparison.Ordinal)), File("b.yaml", Group("one", 100, prefix: "/v2")), two]);

        Assert.Multiple(() =>
        {
            Assert.That(routeGroupEdit.Validated, Is.EqualTo(1));
            Assert.That(routeGroupEdit.Changed, Is.EqualTo(new[] { new ResourceKey("RouteGroup", "shop", "one") }));
            Assert.That(routeGroupEdit.Inputs.RouteGroups.Single(g => g.Metadata.Name == "one").Spec.Routes[0].Match?.PathPrefix, Is.EqualTo("/v2"));
            Assert.That(serviceEdit.Validated, Is.EqualTo(4), "references resolve against Services: every object again");
        });
    }

    [Test]
    public void Apply_OneGroupOfAFileOfAHundredAndFiftyEdited_OnlyItIsValidated()
    {
        var services = File("a.yaml", Services);
        _set.Apply([services, File("groups.yaml", Groups(edited: -1))]);

        var edit = _set.Apply([services, File("groups.yaml", Groups(edited: 70))]);

        Assert.Multiple(() =>
        {
            Assert.That(edit.Validated, Is.EqualTo(1), "the 149 others are the same objects against the same inputs, from the first edit after the start on");
            Assert.That(edit.Problems, Is.Empty);
            Assert.That(edit.Inputs.RouteGroups.Single(g => g.Metadata.Name == "g-70").Spec.Routes[0].Match?.PathPrefix, Is.EqualTo("/v2"));
        });

        static string Groups(int edited) => string.Join("---\n", Enumerable.Range(0, 150).Select(i => Group($"g-{i}", 100, prefix: i == edited ? "/v2" : "/")));
    }

    [Test]
    public void Apply_RouteGroupsEditedAndAdded_TheInventoryIsSharedAndTheListsEqualACollectionAnew()
    {
        var services = File("a.yaml", Services);
        var first = _set.Apply([services, File("b.yaml", Group("one", 100)), File("d.yaml", Group("three", 100))]);

        var edit = _set.Apply([services, File("b.yaml", Group("one", 100, prefix: "/v2")), File("c.yaml", Group("two", 100, prefix: "/two")), File("d.yaml", Group("three", 100))]);
        var fresh = new LastGoodManifestSet().Apply([services, File("b.yaml", Group("one", 100, prefix: "/v2")), File("c.yaml", Group("two", 100, prefix: "/two")), File("d.yaml", Group("three", 100))]);

        Assert.Multiple(() =>
        {
            Assert.That(edit.Inputs.Services, Is.SameAs(first.Inputs.Services), "only RouteGroups changed: the Services are not collected again");
            Assert.That(edit.Inputs.EndpointSlices, Is.SameAs(first.Inputs.EndpointSlices));
            Assert.That(edit.Inputs.RouteGroups.Select(g => g.Metadata.Name), Is.EqualTo(new[] { "one", "three", "two" }), "in namespace and name order, as collected anew");
            Assert.That(edit.Inputs.RouteGroups.Select(g => g.Spec.Routes[0].Match?.PathPrefix), Is.EqualTo(fresh.Inputs.RouteGroups.Select(g => g.Spec.Routes[0].Match?.PathPrefix)));
            Assert.That(edit.Inputs.RouteGroups[2], Is.SameAs(edit.InForce[new ResourceKey("RouteGroup", "shop", "two")].Resource));
            Assert.That(edit.Inputs.Services.Select(s => s.Metadata.Name), Is.EqualTo(fresh.Inputs.Services.Select(s => s.Metadata.Name)));
        });
    }

    [Test]
    public void Apply_RouteGroupRemoved_TheInputsAreCollectedAnew()
    {
        var services = File("a.yaml", Services);
        _set.Apply([services, File("b.yaml", Group("one", 100)), File("c.yaml", Group("two", 100))]);

        var removal = _set.Apply([services, File("b.yaml", Group("one", 100))]);

        Assert.That(removal.Inputs.RouteGroups.Select(g => g.Metadata.Name), Is.EqualTo(new[] { "one" }));
    }

    [Test]
    public void Apply_LocalWorkloadPhaseChanges_ItIsReplacedButNothingElseIsValidated()
    {
        var services = File("a.yaml", Services);
        var one = File("b.yaml", Group("one", 100));
        _set.Apply([services, one, File("w.yaml", Workload("Connected"))]);

        var disconnected = _set.Apply([services, one, File("w.yaml", Workload("Disconnected"))]);
        var heartbeat = _set.Apply([services, one, File("w.yaml", Workload("Disconnected", heartbeat: "2026-12-01T10:00:09Z"))]);

        Assert.Multiple(() =>
        {
            Assert.That(disconnected.Validated, Is.EqualTo(1));
            Assert.That(disconnected.InputsChanged, Is.True);
            Assert.That(disconnected.Inputs.LocalWorkloads.Single().IsRoutable, Is.False);
            Assert.That(heartbeat.InputsChanged, Is.False, "a heartbeat changes nothing translation reads");
        });

        static string Workload(string phase, string heartbeat = "2026-12-01T10:00:00Z") => $$$"""
            apiVersion: sandboxctl.io/v1alpha1
            kind: LocalWorkload
            metadata: {name: alice, namespace: shop}
            spec: {routingKey: alice, service: cart, ports: [{port: 8080}]}
            status: {phase: {{{phase}}}, tunnel: {lastHeartbeat: "{{{heartbeat}}}", address: 10.0.0.9, ports: [{port: 8080, brokerPort: 18100}]}}
            """;
    }

    [Test]
    public void Apply_Incremental_ChangedAndRemovedOnly()
    {
        _set.Apply([File("a.yaml", Services), File("b.yaml", Group("one", 100)), File("c.yaml", Group("two", 100))]);

        var result = _set.Apply([File("d.yaml", Group("three", 100))], ["b.yaml"]);

        Assert.That(result.Inputs.RouteGroups.Select(g => g.Metadata.Name), Is.EqualTo(new[] { "three", "two" }));
    }

    private ManifestSetResult Apply(params (string Path, string Text)[] files) => _set.Apply(files.Select(f => File(f.Path, f.Text)));

    private static ManifestFile File(string path, string text) => new(path, ManifestReader.Read(text, path));

    private static string Group(string name, int firstWeight, string prefix = "/") => $$"""
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: {{name}}, namespace: shop}
        spec:
          routes:
          - service: cart
            match: {pathPrefix: "{{prefix}}"}
            to: [{service: cart-v2, weight: {{firstWeight}}}, {service: cart, weight: 0}]

        """;
}
