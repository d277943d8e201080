using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Envoy.Config.Cluster.V3;
using Google.Protobuf.WellKnownTypes;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// The streamed document (<see cref="SnapshotJson.WriteAsync"/>, what <c>/debug/snapshot</c> sends) is byte for byte
/// the text of the tree (<see cref="SnapshotJson.Document"/>, what <c>sandboxctl render</c> prints) as the server
/// printed it before it streamed.
/// </summary>
public sealed class SnapshotJsonTests
{
    private static readonly JsonSerializerOptions PrintedBefore = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [TestCase("shop", true)]
    [TestCase("shop", false)]
    [TestCase("edge-cases", true)]
    public async Task WriteAsync_TranslatedCase_IsTheDocumentsText(string caseName, bool withResources)
    {
        var groups = GoldenTests.TranslateCase(caseName).Groups
            .Select(g => (g.Key, Snapshot.Create(g.Value), (DateTimeOffset?)new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.FromHours(1))))
            .ToArray();

        var (streamed, built) = await BothAsync(groups, withResources);

        Assert.That(streamed, Is.EqualTo(built));
    }

    [Test]
    public async Task WriteAsync_OddNamesAndNoPublicationTime_IsTheDocumentsText()
    {
        var odd = new Cluster
        {
            Name = "é<&>\"quoted\" \\ ✓ 😀 \u001b[31m\u2028",
            Type = Cluster.Types.DiscoveryType.Static,
            ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1500)),
            PerConnectionBufferLimitBytes = 32768,
        };
        var plain = new Cluster { Name = "a", Type = Cluster.Types.DiscoveryType.Static, ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) };
        (string, Snapshot, DateTimeOffset?)[] groups = [("z-group", Snapshot.Create([XdsResource.Create(odd), XdsResource.Create(plain)]), null), ("a-group", Snapshot.Create([]), null)];

        var (streamed, built) = await BothAsync(groups, withResources: true);

        Assert.That(streamed, Is.EqualTo(built));
    }

    private static async Task<(string Streamed, string Built)> BothAsync((string, Snapshot, DateTimeOffset?)[] groups, bool withResources)
    {
        using var stream = new MemoryStream();
        await SnapshotJson.WriteAsync(stream, groups, withResources, CancellationToken.None);
        var built = SnapshotJson.Document(groups, withResources).ToJsonString(PrintedBefore) + "\n";
        return (Encoding.UTF8.GetString(stream.ToArray()), built);
    }
}
