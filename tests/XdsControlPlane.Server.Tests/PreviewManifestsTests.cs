using Microsoft.Extensions.DependencyInjection;
using Envoy.Service.Auth.V3;
using Grpc.Net.Client;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// The preview authorization service in manifests mode, over real gRPC: grants are PreviewGrant files in the manifest
/// directory (examples/shop beside them), the session key a file the server makes. No one records creators here, so a
/// personal preview is refused with a message saying why, whatever a file claims; a grant's file changing publishes nothing.
/// </summary>
public sealed class PreviewManifestsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly PreviewUnderTest Shared = new(Sandbox.KindName, "shop", "feature-x", "cart", 8080, Preview.Shared);
    private static readonly PreviewUnderTest Personal = new(Sandbox.KindName, "shop", "feature-x", "cart", 8080, Preview.Personal);

    private readonly HostLog _log = new();
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Directory.CreateTempSubdirectory("preview-manifests-").FullName;
        foreach (var file in new[] { "services.yaml", "endpointslices.yaml", "routing.yaml" })
        {
            File.Copy(RepoDirectory.Path("examples", "shop", file), Path.Combine(_directory, file));
        }
    }

    [TearDown]
    public void RemoveDirectory()
    {
        _log.AssertNoUnexpectedWarnings();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task GrantFile_OpensSharedPreview_PersonalRefusedForWantOfARecordedCreator_AndTheKeyFileIsPrivate()
    {
        var token = PreviewToken.Create();
        File.WriteAllText(Path.Combine(_directory, "grant.yaml"), GrantYaml("share-1", token, "written by hand"));
        var keyFile = Path.Combine(_directory, "..", Path.GetFileName(_directory) + ".key");
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await new InProcessServer().WithLog(_log).WithManifests(_directory).With("PreviewAccess:SessionKeyFile", keyFile).With("Translation:PreviewDomain", "preview.example.com").StartAsync(cancel.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        var client = new Authorization.AuthorizationClient(channel);

        await Eventually.WaitAsync(async () => PreviewCheckRequests.StatusOf(await client.CheckAsync(Bearer(Shared, token), cancellationToken: cancel.Token)) == 200, "the grant file to be read");
        var personal = await client.CheckAsync(Bearer(Personal, token), cancellationToken: cancel.Token);
        var redirect = await client.CheckAsync(PreviewCheckRequests.For(Shared, path: "/?token=" + token), cancellationToken: cancel.Token);

        Assert.That((PreviewCheckRequests.StatusOf(personal), personal.Status.Message), Is.EqualTo((403, "no-recorded-creator")));
        Assert.That(personal.DeniedResponse.Body, Does.Contain("no one recorded who created your grant"));
        Assert.That(PreviewCheckRequests.StatusOf(redirect), Is.EqualTo(302), "sessions are signed with the key file's key");
        if (!OperatingSystem.IsWindows())
        {
            Assert.That(File.GetUnixFileMode(keyFile), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }

        File.Delete(keyFile);
    }

    [Test]
    public async Task GrantFileAddedAndRemoved_OpensAndRevokes_WithoutPublishingAnything()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        await using var host = await new InProcessServer().WithLog(_log).WithManifests(_directory).With("Manifests:PollInterval", TimeSpan.FromMilliseconds(100)).StartAsync(cancel.Token);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{host.XdsPort}");
        var client = new Authorization.AuthorizationClient(channel);
        await Eventually.WaitAsync(() => host.Services.GetRequiredService<XdsControlPlane.Sources.RoutingInputsStore>().Current is not null, "the first publication");
        var versions = Versions(host);

        var token = PreviewToken.Create();
        var grant = Path.Combine(_directory, "grant.yaml");
        File.WriteAllText(grant, GrantYaml("share-2", token, "for the review"));
        await Eventually.WaitAsync(async () => PreviewCheckRequests.StatusOf(await client.CheckAsync(Bearer(Shared, token), cancellationToken: cancel.Token)) == 200, "the new grant to open the preview");
        File.Delete(grant);
        await Eventually.WaitAsync(async () => (await client.CheckAsync(Bearer(Shared, token), cancellationToken: cancel.Token)).Status.Message == "unknown-token", "the deleted grant to revoke its token");

        Assert.That(Versions(host), Is.EqualTo(versions), "no snapshot changed for a grant");
    }

    private static Dictionary<string, string> Versions(ServerHost host) =>
        host.Snapshots.Groups.ToDictionary(g => g, g => host.Snapshots.GetSnapshot(g)!.Snapshot.Version, StringComparer.Ordinal);

    private static CheckRequest Bearer(PreviewUnderTest preview, string token) => PreviewCheckRequests.For(preview, headers: [("authorization", "Bearer " + token)]);

    private static string GrantYaml(string name, string token, string description) => $$"""
        apiVersion: sandboxctl.io/v1alpha1
        kind: PreviewGrant
        metadata:
          name: {{name}}
          namespace: shop
          annotations: {sandboxctl.io/created-by: alice}
        spec:
          sandbox: feature-x
          secretHash: {{PreviewToken.Hash(token)}}
          expiresAt: {{PreviewGrant.FormatTimestamp(DateTimeOffset.UtcNow.AddHours(2))}}
          description: {{description}}
        """;
}
