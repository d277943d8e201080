using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Tunnel.Tests;

/// <summary>
/// The broker's checks of a Hello before anyone looks it up: the protocol version agreed on (the highest both speak,
/// else FailedPrecondition naming both ranges and who should upgrade) and the shape of each field (InvalidArgument
/// naming the field).
/// </summary>
public sealed class HelloAdmissionTests
{
    [TestCase(1u, 1u, 1u, 1u, 1u)]
    [TestCase(1u, 3u, 1u, 1u, 1u)]
    [TestCase(1u, 3u, 2u, 5u, 3u)]
    [TestCase(2u, 2u, 1u, 3u, 2u)]
    public void HighestShared_OverlappingRanges_TheHighestVersionInBoth(uint min, uint max, uint otherMin, uint otherMax, uint expected) =>
        Assert.That(new TunnelVersions(min, max).HighestShared(new TunnelVersions(otherMin, otherMax)), Is.EqualTo(expected));

    [TestCase(1u, 1u, 2u, 3u)]
    [TestCase(3u, 4u, 1u, 2u)]
    [TestCase(2u, 1u, 1u, 2u)]
    public void HighestShared_NoOverlapOrEmptyRange_Null(uint min, uint max, uint otherMin, uint otherMax) =>
        Assert.That(new TunnelVersions(min, max).HighestShared(new TunnelVersions(otherMin, otherMax)), Is.Null);

    [Test]
    public void Negotiate_AgentOfThisBuild_AgreesOnTheSharedVersion() =>
        Assert.That(VersionNegotiation.Negotiate(GoodHello()), Is.EqualTo(TunnelProtocol.Versions.Max));

    [TestCase(3u, 4u, "the agent speaks tunnel protocol versions 3-4, this broker 1-2: upgrade the control plane or use an older sandboxctl")]
    [TestCase(0u, 0u, "the agent speaks tunnel protocol versions 0-0, this broker 1-2: upgrade sandboxctl")]
    public void Negotiate_NoSharedVersion_FailedPreconditionNamingBothRanges(uint min, uint max, string message)
    {
        var hello = GoodHello();
        hello.MinVersion = min;
        hello.MaxVersion = max;

        var refusal = Assert.Catch<RpcException>(() => VersionNegotiation.Negotiate(hello))!;

        Assert.That((refusal.StatusCode, refusal.Status.Detail), Is.EqualTo((StatusCode.FailedPrecondition, message)));
    }

    [Test]
    public void Check_GoodHello_Passes() => Assert.DoesNotThrow(() => HelloValidator.Check(GoodHello()));

    [Test]
    public void Check_OneBadField_InvalidArgumentNamingIt()
    {
        var cases = new (Action<Hello> Break, string Message)[]
        {
            (h => h.Namespace = "Shop", "Hello.namespace: 'Shop' is not a namespace name (a DNS label)"),
            (h => h.Namespace = "shop\n", "Hello.namespace: 'shop?' is not a namespace name (a DNS label)"),
            (h => h.Namespace = new string('a', 64), $"Hello.namespace: '{new string('a', 64)}' is not a namespace name (a DNS label)"),
            (h => h.LocalWorkload = "", "Hello.local_workload: '' is not a LocalWorkload name (a DNS label)"),
            (h => h.LocalWorkload = "cart\u001b[31m", "Hello.local_workload: 'cart?[31m' is not a LocalWorkload name (a DNS label)"),
            (h => h.AgentVersion = new string('v', 129), "Hello.agent_version: longer than 128 characters"),
            (h => h.Secret = new string('s', 513), "Hello.secret: longer than 512 characters"),
            (h => h.SessionId = "", "Hello.session_id: must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'"),
            (h => h.SessionId = new string('s', 65), "Hello.session_id: must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'"),
            (h => h.SessionId = "a\nb", "Hello.session_id: must be 1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'"),
            (h => h.InitialWindow = 10, "Hello.initial_window: must be between 1024 and 16777216 bytes, got 10"),
            (h => h.InitialWindow = 16 * 1024 * 1024 + 1, "Hello.initial_window: must be between 1024 and 16777216 bytes, got 16777217"),
            (h => h.Spec = Spec(s => s.RoutingKey = "feature-x\n"), "Hello.spec.routing_key: 'feature-x?' is not a routing key (1-63 characters of a-z, 0-9 and '-')"),
            (h => h.Spec = Spec(s => s.RoutingKey = "Feature"), "Hello.spec.routing_key: 'Feature' is not a routing key (1-63 characters of a-z, 0-9 and '-')"),
            (h => h.Spec = Spec(s => s.Sandbox = "sb\r\n"), "Hello.spec.sandbox: 'sb??' is not a Sandbox name (a DNS label)"),
            (h => h.Spec = Spec(s => s.Service = "cart.other"), "Hello.spec.service: 'cart.other' is not a Service name of the workload's namespace (a DNS label)"),
            (h => h.Spec = Spec(s => s.Ports.Add(70000)), "Hello.spec.ports[1]: must be a port (1-65535), got 70000"),
            (h => h.Spec = Spec(s => s.Ports.Add(0)), "Hello.spec.ports[1]: must be a port (1-65535), got 0"),
            (h => h.Spec = Spec(s => s.Ports.AddRange(Enumerable.Range(1, 64).Select(p => (uint)p))), "Hello.spec.ports: at most 64 ports, got 65"),
            (h => h.Spec = Spec(s => s.Expose.AddRange(Enumerable.Range(0, 33).Select(i => $"svc{i}"))), "Hello.spec.expose: at most 32 Services, got 33"),
            (h => h.Spec = Spec(s => s.Expose.Add("orders.other.x")), "Hello.spec.expose[0]: 'orders.other.x' is not a Service name, or name.namespace"),
            (h => h.Spec = Spec(s => s.Previews.Add(new WorkloadPreview { Port = 9090, Access = "shared" })), "Hello.spec.previews[0].port: must be one of spec.ports (8080), got 9090"),
            (h => h.Spec = Spec(s => s.Previews.Add(new WorkloadPreview { Port = 8080, Access = "everyone\u001b[2J" })), "Hello.spec.previews[0].access: must be public, shared or personal, got 'everyone?[2J'"),
            (h => h.Spec = Spec(s => s.Previews.AddRange([new WorkloadPreview { Port = 8080, Access = "shared" }, new WorkloadPreview { Port = 8080, Access = "public" }])), "Hello.spec.previews[1].port: port 8080 is previewed twice; list each port once"),
            (h => h.Spec = Spec(s => s.Previews.AddRange(Enumerable.Range(0, 17).Select(_ => new WorkloadPreview { Port = 8080, Access = "shared" }))), "Hello.spec.previews: at most 16 previews, got 17"),
        };

        Assert.Multiple(() =>
        {
            foreach (var (breakIt, message) in cases)
            {
                var hello = GoodHello();
                breakIt(hello);
                var refusal = Assert.Catch<RpcException>(() => HelloValidator.Check(hello))!;
                Assert.That((refusal.StatusCode, refusal.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, message)));
            }
        });
    }

    [Test]
    public void Check_GoodSpec_Passes() => Assert.DoesNotThrow(() =>
    {
        var hello = GoodHello();
        hello.Spec = Spec(s =>
        {
            s.Expose.Add("orders.other");
            s.Previews.Add(new WorkloadPreview { Port = 8080, Access = "personal" });
        });
        HelloValidator.Check(hello);
    });

    [Test]
    public void Check_HugeField_QuotedAtMost64Characters()
    {
        var hello = GoodHello();
        hello.Spec = Spec(s => s.Service = new string('x', 1024 * 1024));

        var refusal = Assert.Throws<AgentRefusedException>(() => HelloValidator.Check(hello))!;

        Assert.Multiple(() =>
        {
            Assert.That(refusal.Reason, Is.EqualTo(AgentRefusal.BadHello));
            Assert.That(refusal.Status.Detail, Has.Length.LessThan(200));
        });
    }

    [TestCase("feature-x\n")]
    [TestCase("feature-x\r\n")]
    [TestCase("\nfeature-x")]
    public void IsRoutingKey_LineBreakAnywhere_False(string key) => Assert.That(Model.SchemaPatterns.IsRoutingKey(key), Is.False);

    [Test]
    public void RefusalLabels_OnePerReason_SnakeCase() =>
        Assert.That(AgentRefusals.All, Is.EqualTo(new[] { "bad_hello", "hello_timeout", "protocol_version", "connection_limit", "address_limit", "broker_full", "denied", "identity", "not_found", "already_connected", "failed_precondition", "unavailable", "other" }));

    [Test]
    public void ReconnectGraceOf_WelcomeOfAnOlderBroker_TheDefault() =>
        Assert.That(
            (TunnelProtocol.ReconnectGraceOf(new Welcome()), TunnelProtocol.ReconnectGraceOf(new Welcome { ReconnectGraceMs = 45_000 })),
            Is.EqualTo((TunnelProtocol.DefaultReconnectGrace, TimeSpan.FromSeconds(45))));

    [TestCase(0u, 5000)]
    [TestCase(500u, 5000)]
    [TestCase(2000u, 2000)]
    [TestCase(120_000u, 5000)]
    public void PingIntervalOf_Welcome_AskedIntervalWhenSaneElseTheDefault(uint asked, int expectedMs) =>
        Assert.That(TunnelProtocol.PingIntervalOf(new Welcome { PingIntervalMs = asked }), Is.EqualTo(TimeSpan.FromMilliseconds(expectedMs)));

    private static LocalWorkloadSpec Spec(Action<LocalWorkloadSpec> change)
    {
        var spec = new LocalWorkloadSpec { RoutingKey = "feature-x", Service = "cart", Ports = { 8080 } };
        change(spec);
        return spec;
    }

    private static Hello GoodHello() => new()
    {
        MinVersion = TunnelProtocol.Versions.Min,
        MaxVersion = TunnelProtocol.Versions.Max,
        Namespace = "shop",
        LocalWorkload = "cart-alice",
        SessionId = "session",
        InitialWindow = 256 * 1024,
    };
}
