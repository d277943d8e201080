using Microsoft.Extensions.DependencyInjection;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Server.Tests;

/// <summary>The manifest source in the real host on real files: a reload reads and publishes only what changed.</summary>
public sealed class ManifestReloadTests
{
    private const int ExtraServices = 20;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly HostLog _log = new();
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-reload-").FullName;
        for (var i = 0; i < ExtraServices; i++)
        {
            File.WriteAllText(Path.Combine(_directory, $"svc-{i:00}.yaml"), Service($"svc-{i:00}"));
        }
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task FileRewrittenWithTheSameContent_PublishesNothing_AndOnlyChangedFilesAreReadAgain()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var translation = new CountingTranslation(new RoutingTranslator());
        await using var host = new InProcessServer()
            .WithManifests(_directory)
            .WithLog(_log)
            .WithServices(services => services.AddSingleton<IRoutingTranslator>(translation))
            .Create();
        await host.StartAsync(cancel.Token);
        await Eventually.WaitAsync(() => translation.Last?.Services.Count == ExtraServices, "the first publication", cancel.Token);
        var reader = host.Services.GetRequiredService<ManifestDirectoryReader>();
        var translations = translation.Count;
        var parsed = reader.FilesParsed;

        // The same text with a new modification time: read again, but nothing translation reads changed.
        Replace("svc-03.yaml", Service("svc-03"), DateTime.UtcNow.AddMinutes(1));
        await Eventually.WaitAsync(() => reader.FilesParsed > parsed, "the rewritten file to be read again", cancel.Token);

        // A real change afterwards: its publication is the only one.
        Replace("svc-07.yaml", Service("svc-07", port: 9090), DateTime.UtcNow.AddMinutes(2));
        await Eventually.WaitAsync(() => translation.Last?.FindService("shop", "svc-07")?.Spec.Ports.Single().Port == 9090, "the edit to be published", cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(translation.Count, Is.EqualTo(translations + 1), "the identical rewrite was not translated, the edit was");
            Assert.That(reader.FilesParsed, Is.EqualTo(parsed + 2), "only the two changed files of the 20 were read again");
            Assert.That(translation.Last!.FindService("shop", "svc-01"), Is.SameAs(translation.First!.FindService("shop", "svc-01")), "unchanged files keep their objects");
        });

        await host.StopAsync(cancel.Token);
        _log.AssertNoUnexpectedWarnings();
    }

    /// <summary>Writes <paramref name="text"/> to a hidden file and renames it over <paramref name="name"/>: one change, one modification time.</summary>
    private void Replace(string name, string text, DateTime modified)
    {
        var temporary = Path.Combine(_directory, "." + name);
        File.WriteAllText(temporary, text);
        File.SetLastWriteTimeUtc(temporary, modified);
        File.Move(temporary, Path.Combine(_directory, name), overwrite: true);
    }

    private static string Service(string name, int port = 8080) => $$"""
        apiVersion: v1
        kind: Service
        metadata: {name: {{name}}, namespace: shop}
        spec:
          clusterIP: 10.96.0.10
          ports:
          - {name: http, port: {{port}}}
        """;

    /// <summary>The real translation, counting its calls and keeping the inputs of the first and the last.</summary>
    private sealed class CountingTranslation(IRoutingTranslator inner) : IRoutingTranslator
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public RoutingInputs? First { get; private set; }

        public RoutingInputs? Last { get; private set; }

        public TranslationResult Translate(RoutingInputs inputs)
        {
            First ??= inputs;
            Last = inputs;
            Interlocked.Increment(ref _count);
            return inner.Translate(inputs);
        }
    }
}
