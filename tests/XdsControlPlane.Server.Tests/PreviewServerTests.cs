using System.Net;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// A bad preview domain is refused by name, and a server in manifests mode (the embedded default) with a preview domain
/// publishes the gateway's preview hosts: the snapshot passes the publisher's Envoy rules and
/// consistency check (ext_authz's cluster is the bootstrap's static one).
/// </summary>
public sealed class PreviewServerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly HostLog _log = new();

    [TearDown]
    public void AssertNoWarnings()
    {
        _log.AssertNoUnexpectedWarnings();
        _log.Clear();
    }

    [TestCase("Preview.Example.com")]
    [TestCase("preview")]
    [TestCase("previews.svc.cluster.local")]
    public void TranslationOptions_BadPreviewDomain_NamedInTheProblems(string domain) =>
        Assert.That(new TranslationOptions { PreviewDomain = domain }.Validate(), Has.Some.StartWith("PreviewDomain must"));

    [Test]
    public async Task ManifestsMode_PreviewDomain_GatewaySnapshotHasThePreviewHost()
    {
        var directory = Directory.CreateTempSubdirectory("xdscp-previews-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "shop.yaml"), """
                apiVersion: v1
                kind: Service
                metadata: {name: cart, namespace: shop}
                spec:
                  ports: [{name: http, port: 8080}]
                ---
                apiVersion: sandboxctl.io/v1alpha1
                kind: Sandbox
                metadata: {name: feature-x, namespace: shop}
                spec:
                  routingKey: feature-x
                  previews: [{service: cart, port: 8080, access: shared}]
                """);
            using var cancel = new CancellationTokenSource(Timeout);
            await using var host = await new InProcessServer().WithManifests(directory).With("Translation:PreviewDomain", "preview.example.com").WithLog(_log).StartAsync(cancel.Token);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{host.AdminPort}") };
            var expected = PreviewHostNames.Host(Sandbox.KindName, "shop", "feature-x", "cart", 8080, "", "preview.example.com");

            string snapshot = "";
            await Eventually.WaitAsync(
                async () =>
                {
                    using var response = await http.GetAsync(new Uri("/debug/snapshot", UriKind.Relative), cancel.Token);
                    snapshot = response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadAsStringAsync(cancel.Token) : "";
                    return snapshot.Contains(expected, StringComparison.Ordinal);
                },
                "the preview host in the gateway's published snapshot");

            Assert.Multiple(() =>
            {
                Assert.That(snapshot, Does.Contain("envoy.filters.http.ext_authz"));
                Assert.That(snapshot, Does.Contain("\"x-routing-key\""));
            });
            await host.StopAsync(cancel.Token);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
