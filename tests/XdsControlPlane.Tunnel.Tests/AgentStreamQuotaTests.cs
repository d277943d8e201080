using Grpc.Core;

namespace XdsControlPlane.Tunnel.Tests;

/// <summary>The broker's limits on agent streams per HTTP/2 connection and per remote address.</summary>
public sealed class AgentStreamQuotaTests
{
    [Test]
    public void StreamsFromOneAddress_BeyondTheLimit_AreRefusedOverManyConnections_UntilOneEnds()
    {
        var quota = new AgentStreamQuota(new TunnelBrokerOptions { MaxAgentsPerConnection = 4, MaxAgentsPerAddress = 3 });
        var open = Enumerable.Range(0, 3).Select(i => quota.Enter($"ipv4:10.0.0.5:{40000 + i}")).ToList();

        var refused = Assert.Throws<AgentRefusedException>(() => quota.Enter("ipv4:10.0.0.5:40009"))!;
        using var otherClient = quota.Enter("ipv4:10.0.0.6:40000");
        open[0].Dispose();
        using var afterOneEnded = quota.Enter("ipv4:10.0.0.5:40010");

        Assert.Multiple(() =>
        {
            Assert.That(refused.Reason, Is.EqualTo(AgentRefusal.AddressLimit));
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
            Assert.That(refused.Status.Detail, Does.Contain("10.0.0.5").And.Contain("Tunnel:MaxAgentsPerAddress is 3"));
            Assert.That(quota.Open, Is.EqualTo(4));
        });
    }

    [Test]
    public void LoopbackPeers_AreManyClientsBehindAPortForward_OnlyTheConnectionLimitApplies()
    {
        var quota = new AgentStreamQuota(new TunnelBrokerOptions { MaxAgentsPerConnection = 2, MaxAgentsPerAddress = 3 });
        var fromPortForward = Enumerable.Range(0, 10).SelectMany(i => new[] { quota.Enter($"ipv4:127.0.0.1:{50000 + i}"), quota.Enter($"ipv4:127.0.0.1:{50000 + i}") }).ToList();
        fromPortForward.AddRange(Enumerable.Range(0, 5).Select(i => quota.Enter($"ipv6:[::1]:{51000 + i}")));

        var refused = Assert.Throws<AgentRefusedException>(() => quota.Enter("ipv4:127.0.0.1:50000"))!;

        Assert.Multiple(() =>
        {
            Assert.That(refused.Reason, Is.EqualTo(AgentRefusal.ConnectionLimit));
            Assert.That(quota.Open, Is.EqualTo(25));
        });
        fromPortForward.ForEach(lease => lease.Dispose());
        Assert.That(quota.Open, Is.Zero);
    }
}
