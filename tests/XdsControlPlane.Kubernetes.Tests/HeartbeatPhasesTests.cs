using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>
/// The phase the leader gives a LocalWorkload from its status: heartbeats age into Disconnected and a fresh one brings
/// Connected back, but a workload the broker holds after losing its agent's stream (Disconnected, no connectedAt, the
/// tunnel kept) stays Disconnected until the broker writes Connected — every replica keeps its routes withdrawn.
/// </summary>
public sealed class HeartbeatPhasesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    [TestCase(null, "10.0.0.9", 0, true, "Pending", TestName = "Compute_NoHeartbeatYet_Pending")]
    [TestCase("Connected", "10.0.0.9", 5, true, "Connected", TestName = "Compute_FreshHeartbeat_Connected")]
    [TestCase("Connected", "10.0.0.9", 45, true, "Disconnected", TestName = "Compute_HeartbeatOlderThanTheTimeout_Disconnected")]
    [TestCase("Disconnected", "10.0.0.9", 5, true, "Connected", TestName = "Compute_AgedButHeartbeatingAgain_Connected")]
    [TestCase("Disconnected", "10.0.0.9", 5, false, "Disconnected", TestName = "Compute_StreamLostAndHeldForTheGrace_StaysDisconnected")]
    [TestCase("Disconnected", null, 5, true, "Disconnected", TestName = "Compute_TunnelWithdrawn_Disconnected")]
    [TestCase("Failed", "10.0.0.9", 5, true, "Failed", TestName = "Compute_Failed_StaysFailed")]
    public void Compute(string? phase, string? address, int heartbeatAgeSeconds, bool connectedAt, string expected)
    {
        var heartbeat = Now.AddSeconds(-heartbeatAgeSeconds).ToString("o", System.Globalization.CultureInfo.InvariantCulture);
        var workload = new LocalWorkload
        {
            Status = new LocalWorkloadStatus
            {
                Phase = phase,
                Tunnel = new TunnelStatus
                {
                    Address = address,
                    Ports = [new TunnelPort { Port = 8080, BrokerPort = 18100 }],
                    ConnectedAt = connectedAt ? heartbeat : null,
                    LastHeartbeat = phase is null ? null : heartbeat,
                },
            },
        };

        Assert.That(HeartbeatPhases.Compute(workload, Now), Is.EqualTo(expected));
    }
}
