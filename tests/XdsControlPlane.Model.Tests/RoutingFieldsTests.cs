namespace XdsControlPlane.Model.Tests;

/// <summary>What translation reads of each kind: status and server-moved metadata aside, but for what routing reads of status.</summary>
public sealed class RoutingFieldsTests
{
    private static readonly RouteGroup Group = (RouteGroup)Read("""
        apiVersion: sandboxctl.io/v1alpha1
        kind: RouteGroup
        metadata: {name: one, namespace: shop, generation: 3, resourceVersion: "17"}
        spec:
          routes:
          - service: cart
            to: [{service: cart, weight: 100}]
        """);

    private static readonly LocalWorkload Workload = (LocalWorkload)Read("""
        apiVersion: sandboxctl.io/v1alpha1
        kind: LocalWorkload
        metadata: {name: alice, namespace: shop}
        spec: {routingKey: alice, service: cart, ports: [{port: 8080}]}
        status: {phase: Connected, tunnel: {lastHeartbeat: "2026-12-01T10:00:00Z", replica: a, address: 10.0.0.9, ports: [{port: 8080, brokerPort: 18100}]}}
        """);

    private static readonly Sandbox Box = (Sandbox)Read("""
        apiVersion: sandboxctl.io/v1alpha1
        kind: Sandbox
        metadata: {name: feature-x, namespace: shop}
        spec: {forks: [{of: {name: cart}}]}
        status: {routingKey: feature-x-abc123, phase: Pending}
        """);

    [Test]
    public void Equal_RouteGroupStatusVersionAndGenerationMoved_SameForTranslation()
    {
        var moved = Group with
        {
            Metadata = Group.Metadata with { ResourceVersion = "18", Generation = 4 },
            Status = new RouteGroupStatus { ObservedGeneration = 4, Conditions = [new Condition { Type = "Accepted", Status = "True" }] },
        };

        Assert.That(RoutingFields.Equal(Group, moved), Is.True);
    }

    [Test]
    public void Equal_RouteGroupSpecOrLabelsChanged_Different()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RoutingFields.Equal(Group, Group with { Spec = Group.Spec with { RoutingKey = "other" } }), Is.False);
            Assert.That(RoutingFields.Equal(Group, Group with { Metadata = Group.Metadata with { Labels = new Dictionary<string, string> { ["team"] = "a" } } }), Is.False);
        });
    }

    [TestCase("Connected", "2026-12-01T10:00:05Z", true)]
    [TestCase("Pending", "2026-12-01T10:00:00Z", true)]
    [TestCase("Disconnected", "2026-12-01T10:00:00Z", false)]
    [TestCase("Failed", "2026-12-01T10:00:00Z", false)]
    public void Equal_LocalWorkloadStatus_OnlyWhetherItIsRoutableCounts(string phase, string heartbeat, bool same)
    {
        var next = Workload with { Status = Workload.Status! with { Phase = phase, Tunnel = Workload.Status.Tunnel! with { LastHeartbeat = heartbeat } } };

        Assert.That(RoutingFields.Equal(Workload, next), Is.EqualTo(same));
    }

    [Test]
    public void Equal_LocalWorkloadTunnel_WhereItLeadsCounts()
    {
        var tunnel = Workload.Status!.Tunnel!;
        Assert.Multiple(() =>
        {
            Assert.That(RoutingFields.Equal(Workload, Workload with { Status = Workload.Status with { Tunnel = tunnel with { Address = "10.0.0.10" } } }), Is.False, "another replica holds it");
            Assert.That(RoutingFields.Equal(Workload, Workload with { Status = Workload.Status with { Tunnel = tunnel with { Ports = [new TunnelPort { Port = 8080, BrokerPort = 18101 }] } } }), Is.False, "another broker port");
            Assert.That(RoutingFields.Equal(Workload, Workload with { Status = Workload.Status with { Tunnel = tunnel with { Address = null } } }), Is.False, "the tunnel withdrawn");
            Assert.That(RoutingFields.Equal(Workload, Workload with { Status = Workload.Status with { Tunnel = tunnel with { ConnectedAt = "2026-12-01T11:00:00Z" } } }), Is.True, "when it connected is not routing");
        });
    }

    [Test]
    public void Equal_SandboxStatus_OnlyTheRoutingKeyCounts()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RoutingFields.Equal(Box, Box with { Status = Box.Status! with { Phase = "Ready", Conditions = [new Condition { Type = "Ready", Status = "True" }] } }), Is.True);
            Assert.That(RoutingFields.Equal(Box, Box with { Status = Box.Status! with { RoutingKey = "feature-x-zzz999" } }), Is.False);
        });
    }

    [Test]
    public void Equal_DifferentKinds_Different() => Assert.That(RoutingFields.Equal(Group, Workload), Is.False);

    private static IManifestObject Read(string yaml) => ManifestReader.Read(yaml, "test.yaml").Objects.Single().Resource;
}
