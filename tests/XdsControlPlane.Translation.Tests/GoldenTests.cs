using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using XdsControlPlane.Envoy.Validation;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Translation.Tests;

/// <summary>
/// Translates reviewed inputs and compares every node group's resources (protobuf JSON) with committed files under
/// Golden/&lt;case&gt;/: one case per routing feature, each an input.yaml whose first comment says what it shows, and
/// gateway.json, sidecar.json and grpc.json; a case with other than the default options has them in translation.json
/// (<see cref="TranslationOptions"/> as JSON). Set UPDATE_GOLDEN=1 to write them (a new case) or rewrite them after
/// reviewing a deliberate change.
/// </summary>
public sealed class GoldenTests
{
    internal static readonly string[] Cases = [.. Directory.EnumerateDirectories(RepoDirectory.Path("tests", "XdsControlPlane.Translation.Tests", "Golden"))
        .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    internal static readonly Lazy<XdsResource> TestSecret = new(() =>
    {
        var certificate = TestCertificates.Wildcard();
        return GatewayTlsSecret.Create(GatewayCertificate.Parse(certificate.ChainPem, certificate.KeyPem, "test"));
    });

    private static IEnumerable<TestCaseData> GroupsOfCases() =>
        Cases.SelectMany(c => DataPlaneRoles.All.Select(g => new TestCaseData(c, g).SetName($"Translate_{c}_{g}_MatchesGolden")));

    [TestCaseSource(nameof(GroupsOfCases))]
    public void Translate_Case_MatchesGolden(string caseName, string group)
    {
        var result = TranslateCase(caseName);
        var actual = ToJson(result.Groups[group]);
        var goldenFile = RepoDirectory.Path("tests", "XdsControlPlane.Translation.Tests", "Golden", caseName, $"{group}.json");
        if (Prerequisite.RewriteRequested("UPDATE_GOLDEN"))
        {
            File.WriteAllText(goldenFile, actual.ToJsonString(new() { WriteIndented = true }) + "\n");
            Assert.Ignore($"rewrote {goldenFile}");
        }

        Assert.That(File.Exists(goldenFile), Is.True, $"{goldenFile} is missing; run with UPDATE_GOLDEN=1 and review it");
        var expected = JsonNode.Parse(File.ReadAllText(goldenFile))!;
        var differences = new List<string>();
        JsonTreeDiff.Compare(expected, actual, "$", differences);
        Assert.That(differences, Is.Empty, $"{caseName}/{group} differs from {goldenFile}:\n{string.Join("\n", differences.Take(20))}");
    }

    [TestCaseSource(nameof(Cases))]
    public void Translate_Case_ResourcesPassEnvoyRulesAndConsistency(string caseName)
    {
        var result = TranslateCase(caseName);
        foreach (var (group, translated) in result.Groups)
        {
            // The gateway is served with its HTTPS certificate as the server adds it (GatewayTlsSecret.Complete).
            var resources = group == DataPlaneRoles.Gateway ? GatewayTlsSecret.Complete(translated, TestSecret.Value) : translated;
            foreach (var resource in resources)
            {
                var validation = EnvoyRulesValidator.Default.Validate(resource.Message);
                Assert.That(validation.Violations, Is.Empty, $"{group}: {resource}");
            }

            Assert.That(SnapshotConsistency.Check(Snapshot.Create(resources)), Is.Empty, group);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Translate_Case_PackedBytesEqualAFreshSerialization(string caseName)
    {
        // Large route configurations are assembled from cached virtual-host bytes; clients must get exactly the message.
        foreach (var resource in TranslateCase(caseName).Groups.Values.SelectMany(r => r))
        {
            Assert.That(resource.Packed.Value.ToByteArray(), Is.EqualTo(resource.Message.ToByteArray()), resource.ToString());
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Translate_SameInputTwice_IdenticalVersions(string caseName)
    {
        var first = TranslateCase(caseName);
        var second = TranslateCase(caseName);
        foreach (var group in DataPlaneRoles.All)
        {
            Assert.That(Snapshot.Create(second.Groups[group]).Version, Is.EqualTo(Snapshot.Create(first.Groups[group]).Version), group);
        }
    }

    internal static TranslationResult TranslateCase(string caseName)
    {
        var manifests = RepoManifests.Load(CaseInput(caseName));
        Assert.That(manifests.Problems, Is.Empty, "the case's manifests must be valid");
        return new RoutingTranslator(OptionsOf(caseName)).Translate(manifests.Inputs);
    }

    /// <summary>The case's translation.json, or the default options.</summary>
    internal static TranslationOptions OptionsOf(string caseName)
    {
        var file = RepoDirectory.Path("tests", "XdsControlPlane.Translation.Tests", "Golden", caseName, "translation.json");
        return File.Exists(file) ? System.Text.Json.JsonSerializer.Deserialize<TranslationOptions>(File.ReadAllText(file)) ?? new() : new();
    }

    private static string CaseInput(string caseName)
    {
        var reference = RepoDirectory.Path("tests", "XdsControlPlane.Translation.Tests", "Golden", caseName, "input");
        // A case's input is its input.yaml (read as the only manifest of the case's folder), its own input/ folder, or,
        // when input.txt names one, a folder of the repository.
        if (File.Exists(reference + ".yaml"))
        {
            return Path.GetDirectoryName(reference)!;
        }

        return File.Exists(reference + ".txt") ? RepoDirectory.Path(File.ReadAllText(reference + ".txt").Trim().Split('/')) : reference;
    }

    private static JsonObject ToJson(IReadOnlyList<XdsResource> resources)
    {
        var root = new JsonObject();
        foreach (var byType in resources.GroupBy(r => TypeUrls.ShortName(r.TypeUrl)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var items = new JsonObject();
            foreach (var resource in byType.OrderBy(r => r.Name, StringComparer.Ordinal))
            {
                items[resource.Name] = JsonNode.Parse(EnvoyTypeCatalog.JsonFormatter.Format(resource.Message));
            }

            root[byType.Key] = items;
        }

        return root;
    }
}

/// <summary>Compares JSON trees and describes each difference by path.</summary>
internal static class JsonTreeDiff
{
    public static void Compare(JsonNode? expected, JsonNode? actual, string path, List<string> differences)
    {
        switch (expected, actual)
        {
            case (JsonObject e, JsonObject a):
                foreach (var key in e.Select(p => p.Key).Union(a.Select(p => p.Key)).Order(StringComparer.Ordinal))
                {
                    if (!a.ContainsKey(key))
                    {
                        differences.Add($"{path}.{key}: missing (expected {Short(e[key])})");
                    }
                    else if (!e.ContainsKey(key))
                    {
                        differences.Add($"{path}.{key}: unexpected {Short(a[key])}");
                    }
                    else
                    {
                        Compare(e[key], a[key], $"{path}.{key}", differences);
                    }
                }

                break;
            case (JsonArray e, JsonArray a):
                for (var i = 0; i < Math.Max(e.Count, a.Count); i++)
                {
                    if (i >= a.Count)
                    {
                        differences.Add($"{path}[{i}]: missing (expected {Short(e[i])})");
                    }
                    else if (i >= e.Count)
                    {
                        differences.Add($"{path}[{i}]: unexpected {Short(a[i])}");
                    }
                    else
                    {
                        Compare(e[i], a[i], $"{path}[{i}]", differences);
                    }
                }

                break;
            default:
                if (!JsonNode.DeepEquals(expected, actual))
                {
                    differences.Add($"{path}: expected {Short(expected)}, got {Short(actual)}");
                }

                break;
        }
    }

    private static string Short(JsonNode? node)
    {
        var text = node?.ToJsonString() ?? "null";
        return text.Length > 120 ? new StringBuilder(text, 0, 117, 120).Append("...").ToString() : text;
    }
}
