using System.Collections.Concurrent;
using Envoy.Config.Cluster.V3;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;
using Serilog.Events;
using XdsControlPlane.Model;
using XdsControlPlane.Testing;
using XdsControlPlane.Translation;

namespace XdsControlPlane.Server.Tests;

/// <summary>Envoy's rules applied before publishing, in the real host: a resource Envoy would NACK is never served.</summary>
public sealed class PublishValidationTests
{
    private const int ResourceInvalidEvent = 1110;
    private const int SnapshotRejectedEvent = 1104;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Directory.CreateTempSubdirectory("xdscp-validation-").FullName;
        foreach (var file in Directory.GetFiles(RepoDirectory.Path("examples", "shop")))
        {
            File.Copy(file, Path.Combine(_directory, Path.GetFileName(file)));
        }
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task Publish_TranslatorProducesAnInvalidCluster_PreviousVersionStaysServedErrorNamesTheFieldOnceAndTheRestIsPublished()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var log = new Collector();
        var translation = new CorruptingTranslation(new RoutingTranslator());
        await using var host = Host(log, translation);
        var published = Signal(host, DataPlaneRoles.Sidecar);
        await host.StartAsync(cancel.Token);
        await published.Task.WaitAsync(cancel.Token);
        var before = host.Snapshots.GetSnapshot(DataPlaneRoles.Sidecar)!.Snapshot;
        var victim = before.Resources(TypeUrls.Cluster).Keys.Order(StringComparer.Ordinal).First();

        // The translator now breaks that cluster; a new Service changes the rest, so a new snapshot is still due.
        translation.Corrupt = victim;
        published = Signal(host, DataPlaneRoles.Sidecar);
        await AddExtraServiceAsync(cancel.Token);
        await published.Task.WaitAsync(cancel.Token);
        var after = host.Snapshots.GetSnapshot(DataPlaneRoles.Sidecar)!.Snapshot;

        var errors = log.Events.Where(e => e.EventId == ResourceInvalidEvent).Select(e => e.Text).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(after.Version, Is.Not.EqualTo(before.Version), "the valid changes are published");
            Assert.That(after.Resources(TypeUrls.Cluster).Keys, Has.Some.Contains("extra"));
            Assert.That(after.Find(TypeUrls.Cluster, victim)!.Version, Is.EqualTo(before.Find(TypeUrls.Cluster, victim)!.Version), "the broken cluster keeps the version served before");
            Assert.That(((Cluster)after.Find(TypeUrls.Cluster, victim)!.Message).ConnectTimeout.ToTimeSpan(), Is.GreaterThan(TimeSpan.Zero));
            Assert.That(errors, Has.Length.EqualTo(1), "logged once, though every node group has the cluster");
            Assert.That(errors.Single(), Does.Contain(victim).And.Contain("connect_timeout"));
            Assert.That(log.Events.Where(e => e.EventId == SnapshotRejectedEvent), Is.Empty);
        });
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task Publish_NewServicesClusterBreaksTheRules_OnlyTheHostsSendingToItAreLeftOut_NoSnapshotRejected()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var log = new Collector();
        var translation = new CorruptingTranslation(new RoutingTranslator()) { CorruptContaining = "extra.shop" };
        await using var host = Host(log, translation);
        var published = Signal(host, DataPlaneRoles.Gateway);
        await host.StartAsync(cancel.Token);
        await published.Task.WaitAsync(cancel.Token);

        // A new Service whose clusters the translator breaks (never served), and a route change elsewhere.
        published = Signal(host, DataPlaneRoles.Gateway);
        await AddExtraServiceAsync(cancel.Token);
        await published.Task.WaitAsync(cancel.Token);
        var gateway = host.Snapshots.GetSnapshot(DataPlaneRoles.Gateway)!.Snapshot;
        var hosts = gateway.Resources(TypeUrls.RouteConfiguration).Values.SelectMany(r => ((global::Envoy.Config.Route.V3.RouteConfiguration)r.Message).VirtualHosts).Select(h => h.Name).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(gateway.Resources(TypeUrls.Cluster).Keys, Has.None.Contains("extra.shop"), "the broken clusters are not published");
            Assert.That(hosts, Has.None.Contains("extra.shop"), "the virtual host sending to them is left out");
            Assert.That(hosts, Has.Some.StartsWith("cart.shop"), "the other hosts are served");
            Assert.That(log.Events.Where(e => e.EventId == SnapshotRejectedEvent), Is.Empty, "no snapshot is rejected whole");
            Assert.That(log.Events.Where(e => e.EventId == 3200).Select(e => e.Text), Has.Some.Contains("extra.shop").And.Some.Contains("which the snapshot will not hold"));
        });
        await host.StopAsync(cancel.Token);
    }

    [Test]
    public async Task Publish_AllValid_ServedWithoutErrors()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var log = new Collector();
        await using var host = new InProcessServer().WithManifests(_directory).WithLog(log).Create();
        var published = Signal(host, DataPlaneRoles.Gateway);
        await host.StartAsync(cancel.Token);
        await published.Task.WaitAsync(cancel.Token);

        Assert.Multiple(() =>
        {
            Assert.That(host.Snapshots.GetSnapshot(DataPlaneRoles.Gateway)!.Snapshot.Resources(TypeUrls.Listener), Is.Not.Empty);
            Assert.That(log.Events.Where(e => e.Level >= LogEventLevel.Warning).Select(e => e.Text), Is.Empty);
        });
        await host.StopAsync(cancel.Token);
    }

    private ServerHost Host(Collector log, IRoutingTranslator translation) => new InProcessServer()
        .WithManifests(_directory)
        .WithLog(log)
        .WithServices(services => services.AddSingleton(translation))
        .Create();

    private Task AddExtraServiceAsync(CancellationToken cancellationToken) => File.WriteAllTextAsync(Path.Combine(_directory, "extra.yaml"), """
        apiVersion: v1
        kind: Service
        metadata: {name: extra, namespace: shop}
        spec:
          clusterIP: 10.96.0.99
          ports:
          - {name: http, port: 8080}
        """, cancellationToken);

    private static TaskCompletionSource Signal(ServerHost host, string group)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = host.Snapshots.Watch(group, () => signal.TrySetResult());
        _ = signal.Task.ContinueWith(_ => watch.Dispose(), TaskScheduler.Default);
        return signal;
    }

    /// <summary>The real translation, with one cluster given a negative connect timeout (Envoy requires it positive).</summary>
    private sealed class CorruptingTranslation(IRoutingTranslator inner) : IRoutingTranslator
    {
        public volatile string? Corrupt;

        /// <summary>Corrupts every cluster whose name contains this, when set (instead of <see cref="Corrupt"/>).</summary>
        public volatile string? CorruptContaining;

        public TranslationResult Translate(RoutingInputs inputs)
        {
            var result = inner.Translate(inputs);
            var name = Corrupt;
            var containing = CorruptContaining;
            if (name is null && containing is null)
            {
                return result;
            }

            bool Broken(string cluster) => cluster == name || (containing is not null && cluster.Contains(containing, StringComparison.Ordinal));

            return result with
            {
                Groups = result.Groups.ToDictionary(
                    g => g.Key,
                    g => (IReadOnlyList<XdsResource>)[.. g.Value.Select(r => r.TypeUrl == TypeUrls.Cluster && Broken(r.Name) ? Break((Cluster)r.Message) : r)]),
            };
        }

        private static XdsResource Break(Cluster cluster)
        {
            var broken = cluster.Clone();
            broken.ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(-1));
            return XdsResource.Create(broken);
        }
    }

    private sealed class Collector : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> _events = new();

        public IEnumerable<(int? EventId, LogEventLevel Level, string Text)> Events =>
            _events.Select(e => (EventIdOf(e), e.Level, e.RenderMessage(System.Globalization.CultureInfo.InvariantCulture)));

        public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

        private static int? EventIdOf(LogEvent e) =>
            e.Properties.TryGetValue("EventId", out var id) && id is StructureValue s && s.Properties.FirstOrDefault(p => p.Name == "Id")?.Value is ScalarValue { Value: int value } ? value : null;
    }
}
