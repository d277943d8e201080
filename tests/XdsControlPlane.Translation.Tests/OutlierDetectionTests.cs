using Envoy.Config.Cluster.V3;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// Outlier detection per data plane. gRPC clients (gRFC A50) turn success-rate ejection on when
/// <c>enforcing_success_rate</c> is unset and copy unset thresholds as "undefined" (grpc-js-xds 1.14 then crashes in
/// its success-rate check), so every field a client would default is set, and consecutive-5xx, which only Envoy has,
/// goes to Envoy only.
/// </summary>
public sealed class OutlierDetectionTests
{
    private static IEnumerable<Cluster> EdsClusters(string group) =>
        GoldenTests.TranslateCase("shop").Groups[group].Select(r => r.Message).OfType<Cluster>().Where(c => c.Type == Cluster.Types.DiscoveryType.Eds);

    [Test]
    public void GrpcClusters_SuccessRateExplicitlyOff_FailurePercentageOnWithEveryThreshold_NoConsecutive5xx()
    {
        var clusters = EdsClusters(DataPlaneRoles.Grpc).ToArray();

        Assert.That(clusters, Is.Not.Empty);
        foreach (var cluster in clusters)
        {
            var detection = cluster.OutlierDetection;
            Assert.Multiple(() =>
            {
                Assert.That(detection.EnforcingSuccessRate, Is.EqualTo(0u), cluster.Name);
                Assert.That(new[] { detection.SuccessRateMinimumHosts, detection.SuccessRateRequestVolume, detection.SuccessRateStdevFactor }, Has.None.Null, cluster.Name);
                Assert.That(detection.EnforcingFailurePercentage, Is.EqualTo(100u), cluster.Name);
                Assert.That(detection.FailurePercentageThreshold, Is.EqualTo(85u), cluster.Name);
                Assert.That(detection.FailurePercentageMinimumHosts, Is.EqualTo(2u), cluster.Name);
                Assert.That(detection.FailurePercentageRequestVolume, Is.EqualTo(10u), cluster.Name);
                Assert.That(detection.MaxEjectionPercent, Is.EqualTo(50u), cluster.Name);
                Assert.That(detection.MaxEjectionTime.ToTimeSpan(), Is.EqualTo(TimeSpan.FromMinutes(5)), cluster.Name);
                Assert.That(detection.Consecutive5Xx, Is.Null, "gRPC clients have no consecutive-5xx detector");
            });
        }
    }

    [TestCase(DataPlaneRoles.Gateway)]
    [TestCase(DataPlaneRoles.Sidecar)]
    public void EnvoyClusters_Consecutive5xxAndTheSameFailurePercentageAsGrpc(string group)
    {
        var grpc = EdsClusters(DataPlaneRoles.Grpc).ToDictionary(c => c.Name);
        foreach (var cluster in EdsClusters(group))
        {
            var detection = cluster.OutlierDetection;
            var shared = grpc[cluster.Name].OutlierDetection.Clone();
            shared.Consecutive5Xx = detection.Consecutive5Xx;
            shared.EnforcingConsecutive5Xx = detection.EnforcingConsecutive5Xx;
            shared.ConsecutiveGatewayFailure = detection.ConsecutiveGatewayFailure;
            shared.EnforcingConsecutiveGatewayFailure = detection.EnforcingConsecutiveGatewayFailure;
            Assert.Multiple(() =>
            {
                Assert.That(detection.Consecutive5Xx, Is.EqualTo(5u), cluster.Name);
                Assert.That(detection.EnforcingConsecutive5Xx, Is.EqualTo(100u), cluster.Name);
                Assert.That(detection.EnforcingConsecutiveGatewayFailure, Is.EqualTo(0u), cluster.Name);
                Assert.That(detection, Is.EqualTo(shared), $"{cluster.Name}: everything but the consecutive detectors is as gRPC clients get it");
            });
        }
    }

    [Test]
    public void Options_OutOfRange_Rejected()
    {
        var problems = new TranslationOptions
        {
            OutlierFailurePercentageThreshold = 101,
            OutlierInterval = TimeSpan.Zero,
            OutlierMaxEjectionTime = TimeSpan.FromSeconds(1),
        }.Validate().ToArray();

        Assert.That(problems, Has.Some.Contains("OutlierFailurePercentageThreshold must be at most 100, got 101")
            .And.Some.Contains("OutlierInterval must be positive")
            .And.Some.Contains("OutlierMaxEjectionTime (00:00:01) must not be shorter than OutlierBaseEjectionTime"));
    }
}
