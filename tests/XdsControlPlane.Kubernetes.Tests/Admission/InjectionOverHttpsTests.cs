using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Kubernetes.Tests.Admission;

/// <summary>
/// Sidecar injection end to end through the server's webhook: a Pod AdmissionReview captured from a real API server
/// (GKE, see tests/XdsControlPlane.Server.Tests/Fixtures/admission/README.md) posted over HTTPS to <c>/inject</c>, the
/// answer's base64 JSON patch applied by a real RFC 6902 implementation, and the result read as KubernetesClient's V1Pod.
/// </summary>
public sealed class InjectionOverHttpsTests
{
    private readonly HostLog _log = new();

    [TearDown]
    public void NoUnexpectedWarnings() => _log.AssertNoUnexpectedWarnings();

    [Test]
    public async Task CapturedPodCreate_IsInjected_AndItsReadmissionIsLeftAlone()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var host = await new InProcessServer().WithLog(_log).With("Webhook:Port", FreePort.Next()).StartAsync(cancel.Token);
        using var client = new WebhookClient(host.WebhookPort, await WebhookClient.CaAsync(host.AdminPort, cancel.Token));
        var review = JsonNode.Parse(File.ReadAllText(RepoDirectory.Path("tests", "XdsControlPlane.Server.Tests", "Fixtures", "admission", "pod-create-kube-rs.json")))!.AsObject();
        var original = KubernetesJson.Deserialize<V1Pod>(PodAdmission.Pod(review).ToJsonString());

        var response = await client.ReviewAsync(review.ToJsonString(), cancel.Token);
        Assert.That((bool?)response["allowed"], Is.True, response.ToJsonString());
        Assert.That((string?)response["patchType"], Is.EqualTo("JSONPatch"));
        var patched = PodAdmission.Apply(PodAdmission.Pod(review), WebhookClient.Patch(response)!);
        var pod = KubernetesJson.Deserialize<V1Pod>(patched.ToJsonString());

        Assert.Multiple(() =>
        {
            Assert.That(pod.Spec.InitContainers?.FirstOrDefault()?.Name, Is.EqualTo("sandboxctl-init"), "the redirect runs first");
            Assert.That((pod.Spec.InitContainers ?? []).Concat(pod.Spec.Containers).Count(c => c.Name == "sandboxctl-proxy"), Is.EqualTo(1), "one proxy");
            Assert.That(pod.Spec.Containers.Where(c => c.Name != "sandboxctl-proxy").Select(c => (c.Name, c.Image)), Is.EqualTo(original.Spec.Containers.Select(c => (c.Name, c.Image))), "the pod's own containers are kept");
            Assert.That(pod.Metadata.Labels, Is.EqualTo(original.Metadata.Labels));
            Assert.That(pod.Metadata.Annotations.Keys, Is.SupersetOf(original.Metadata.Annotations?.Keys ?? []));
        });

        // The API server re-invokes the webhook (reinvocationPolicy IfNeeded) with the patched pod: nothing more is added.
        review["request"]!["object"] = patched;
        var again = await client.ReviewAsync(review.ToJsonString(), cancel.Token);
        Assert.That(((bool?)again["allowed"], again["patch"]), Is.EqualTo((true, (JsonNode?)null)), again.ToJsonString());
    }
}
