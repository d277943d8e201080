using k8s.Models;
using XdsControlPlane.Model;

namespace XdsControlPlane.Kubernetes.Tests;

/// <summary>The pure part of the Sandbox controller: what a fork consists of.</summary>
public sealed class ForkPlannerTests
{
    [Test]
    public void Plan_LabelsUsedByAnySelector_AreReplaced_SoBaselineSelectorsNeverMatchTheFork()
    {
        var baseline = new V1Deployment
        {
            Metadata = new V1ObjectMeta { Name = "cart", NamespaceProperty = "shop" },
            Spec = new V1DeploymentSpec
            {
                Selector = new V1LabelSelector
                {
                    MatchLabels = new Dictionary<string, string> { ["app"] = "cart" },
                    MatchExpressions = [new V1LabelSelectorRequirement { Key = "track", OperatorProperty = "In", Values = ["stable"] }],
                },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "cart", ["track"] = "stable", ["zone"] = "eu", ["team"] = "shop" } },
                    Spec = new V1PodSpec { Containers = [new V1Container { Name = "cart", Image = "cart:1" }, new V1Container { Name = "proxy", Image = "proxy:1" }] },
                },
            },
        };
        var byZone = new V1Service { Metadata = new V1ObjectMeta { Name = "cart-eu" }, Spec = new V1ServiceSpec { Selector = new Dictionary<string, string> { ["zone"] = "eu" }, Ports = [new V1ServicePort { Port = 80 }] } };
        var other = new V1Service { Metadata = new V1ObjectMeta { Name = "checkout" }, Spec = new V1ServiceSpec { Selector = new Dictionary<string, string> { ["app"] = "checkout" } } };
        var sandbox = new Sandbox
        {
            Metadata = new ObjectMeta { Name = "feature-x", Namespace = "shop" },
            Spec = new SandboxSpec { Forks = [new Fork { Of = new WorkloadReference { Name = "cart" }, Image = "cart:2" }] },
        };

        var plan = ForkPlanner.Plan(sandbox, "uid-1", new Dictionary<string, V1Deployment?> { ["cart"] = baseline }, [byZone, other]).Single();

        var pod = plan.Deployment!.Spec.Template;
        Assert.Multiple(() =>
        {
            Assert.That(pod.Metadata.Labels.Keys, Is.EquivalentTo(new[] { "team", SandboxLabels.Sandbox, SandboxLabels.ForkOfWorkload }), "app (matchLabels), track (matchExpressions) and zone (a Service) replaced");
            Assert.That(pod.Spec.Containers.Select(c => c.Image), Is.EqualTo(new[] { "cart:2", "proxy:1" }), "the image applies to the first container");
            Assert.That(plan.Services.Select(s => s.Metadata.Name), Is.EqualTo(new[] { "cart-eu-feature-x" }));
            Assert.That(baseline.Spec.Template.Metadata.Labels, Has.Count.EqualTo(4), "the baseline object is not modified");
        });
    }

    [Test]
    public void ForkName_TooLongForADnsLabel_IsShortenedWithADigest_AndStaysDistinct()
    {
        var a = ForkPlanner.ForkName(new string('a', 40), "sandbox-with-a-rather-long-name-1");
        var b = ForkPlanner.ForkName(new string('a', 40), "sandbox-with-a-rather-long-name-2");

        Assert.Multiple(() =>
        {
            Assert.That(ForkPlanner.ForkName("cart", "feature-x"), Is.EqualTo("cart-feature-x"));
            Assert.That(a, Has.Length.LessThanOrEqualTo(63).And.Match("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"));
            Assert.That(a, Is.Not.EqualTo(b));
        });
    }
}
