using Grpc.Core;
using XdsControlPlane.Testing;
using XdsControlPlane.Tunnel.Protocol;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// Previews a manifests-mode agent asks for in its Hello, refused by the real broker with the field named: those the
/// Hello alone shows wrong (the validator) and those only the Service tells (the broker's claim: a tcp port), none of
/// them reaching the pipeline; a good one is welcomed with its URL.
/// </summary>
public sealed partial class BrokerAdmissionTests
{
    [TestCase("echo", 8080, 9090, "shared", StatusCode.InvalidArgument, "Hello.spec.previews[0].port: must be one of spec.ports (8080), got 9090", TestName = "HelloPreview_OfAPortNotServed_RefusedNamingTheField")]
    [TestCase("echo", 8080, 8080, "secret", StatusCode.InvalidArgument, "Hello.spec.previews[0].access: must be public, shared or personal, got 'secret'", TestName = "HelloPreview_UnknownAccess_RefusedNamingTheField")]
    [TestCase("cache", 6379, 6379, "shared", StatusCode.FailedPrecondition, "LocalWorkload shop/preview-bad: spec.previews[0].port: Service shop/cache port 6379 is declared tcp (its appProtocol or name); a preview opens an http or grpc port in a browser", TestName = "HelloPreview_OfATcpPort_RefusedByTheBrokerNamingTheField")]
    public async Task HelloPreview_Bad_RefusedAtTheBroker_NothingPublished(string service, int port, int previewed, string access, StatusCode code, string detail)
    {
        var hello = TunnelTestAgent.Hello("shop", "preview-bad", service, [port], routingKey: "preview-bad", session: "preview-bad-" + TestContext.CurrentContext.Test.Name.Length);
        hello.Spec.Previews.Add(new WorkloadPreview { Port = (uint)previewed, Access = access });

        var refusal = await RefusedAsync(hello);

        Assert.Multiple(() =>
        {
            Assert.That((refusal.StatusCode, refusal.Status.Detail), Is.EqualTo((code, detail)));
            Assert.That(Inputs!.FindLocalWorkload("shop", "preview-bad"), Is.Null, "the refused workload never reached the pipeline");
        });
    }

    [Test]
    public async Task HelloPreview_Good_WelcomedWithThePreviewNamed()
    {
        var hello = Hello("preview-good", routingKey: "preview-good");
        hello.Spec.Previews.Add(new WorkloadPreview { Port = 8080, Access = "shared" });

        await using var agent = await ConnectAsync(hello);

        var preview = agent.Welcome.Previews.Single();
        Assert.That((preview.Port, preview.Access, preview.Url), Is.EqualTo((8080u, "shared", "")), "no preview domain here, so no URL");
        await agent.GoodbyeAsync();
    }
}
