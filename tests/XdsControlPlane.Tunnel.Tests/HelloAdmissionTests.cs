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

    [TestCase(2u, 3u, "the agent speaks tunnel protocol versions 2-3, this broker 1-1: upgrade the control plane or use an older sandboxctl")]
    [TestCase(0u, 0u, "the agent speaks tunnel protocol versions 0-0, this broker 1-1: upgrade sandboxctl")]
    public void Negotiate_NoSharedVersion_FailedPreconditionNamingBothRanges(uint min, uint max, string message)
    {
        var hello = GoodHello();
        hello.MinVersion = min;
        hello.MaxVersion = max;

        var refusal = Assert.Throws<RpcException>(() => VersionNegotiation.Negotiate(hello))!;

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
            (h => h.LocalWorkload = "", "Hello.local_workload: '' is not a LocalWorkload name (a DNS label)"),
            (h => h.Secret = new string('s', 513), "Hello.secret: longer than 512 characters"),
            (h => h.SessionId = "", "Hello.session_id: must be 1-64 characters"),
            (h => h.InitialWindow = 10, "Hello.initial_window: must be between 1024 and 16777216 bytes, got 10"),
            (h => h.Spec = new LocalWorkloadSpec { Ports = { 70000 } }, "Hello.spec: at most 64 ports (each 1-65535) and 64 expose targets"),
        };

        Assert.Multiple(() =>
        {
            foreach (var (breakIt, message) in cases)
            {
                var hello = GoodHello();
                breakIt(hello);
                var refusal = Assert.Throws<RpcException>(() => HelloValidator.Check(hello))!;
                Assert.That((refusal.StatusCode, refusal.Status.Detail), Is.EqualTo((StatusCode.InvalidArgument, message)));
            }
        });
    }

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
