using k8s;
using Microsoft.Extensions.Hosting;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;

namespace XdsControlPlane.Kubernetes;

/// <summary>What the Kubernetes source reads.</summary>
public sealed record KubernetesSourceOptions
{
    /// <summary>The namespaces whose objects are read (and whose Sandboxes are reconciled); empty means all.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];
}

/// <summary>
/// The Kubernetes source (<c>--kubernetes</c>): informers for Services, EndpointSlices, RouteGroups, Sandboxes and
/// LocalWorkloads, built on the official KubernetesClient, turned into changes for the <see cref="SourcePipeline"/>.
/// Once every informer has listed, the whole state goes to the pipeline and the source is synced; after that each
/// watch event that changes what translation reads (<see cref="RoutingFields"/>) is one change of one origin — the
/// object. Events that change nothing translation reads (status writes, heartbeats) are not changes: the status
/// writer (<see cref="KubernetesStatusService"/>) watches those itself.
/// </summary>
public sealed class KubernetesSource : BackgroundService
{
    private readonly IReadOnlyList<ResourceInformer> _informers;
    private readonly SourceFeed _feed;
    private readonly Lock _gate = new();
    private readonly HashSet<ResourceInformer> _listed = [];
    private bool _synced;

    /// <summary>A source reading through <paramref name="client"/> into <paramref name="feed"/>, sharing the informers of <paramref name="informers"/>.</summary>
    public KubernetesSource(IKubernetes client, SourceFeed feed, KubernetesInformers informers, KubernetesSourceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(informers);
        _feed = feed ?? throw new ArgumentNullException(nameof(feed));
        _informers = [.. ResourceSources.All(client, (options ?? new KubernetesSourceOptions()).Namespaces).Select(informers.For)];
        foreach (var informer in _informers)
        {
            informer.Subscribe(changes => Changed(informer, changes));
            informer.SubscribeRelisting(RelistingChanged);
        }
    }

    /// <summary>True once every kind has been listed and handed to the pipeline.</summary>
    public bool HasSynced => _feed.IsSynced;

    /// <summary>The resource version each kind's next watch starts from (advanced by events and bookmarks).</summary>
    public IReadOnlyDictionary<string, string?> ResourceVersions => _informers.ToDictionary(i => i.Name, i => i.ResourceVersion);

    /// <summary>How many times each kind was listed (1, plus one per relist after 410 Gone or a failure).</summary>
    public IReadOnlyDictionary<string, int> Lists => _informers.ToDictionary(i => i.Name, i => i.Lists);

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_informers.Select(informer => informer.RunAsync(stoppingToken)));

    /// <summary>
    /// An informer's news. Before every informer has listed, nothing is handed on (an informer that lists last may be
    /// of an empty kind); when the last one has, the whole state goes at once. After that, each change of what
    /// translation reads is the object's new version, its problem, or its removal.
    /// </summary>
    private void Changed(ResourceInformer informer, IReadOnlyList<InformerChange> changes)
    {
        lock (_gate)
        {
            if (!_synced)
            {
                // Every informer tells its subscribers of its first list (also one that found nothing), and only then says it
                // has synced: count the informers heard from, not their flags, or two that list at once could each wait
                // for the other.
                _listed.Add(informer);
                if (_listed.Count < _informers.Count)
                {
                    return;
                }

                _synced = true;
                _feed.Apply([.. _informers.SelectMany(WholeState)]);
                _feed.MarkSynced();
                return;
            }

            _feed.Apply([.. changes.Where(c => c.Routing).Select(c => Current(informer, c.Namespace, c.Name))]);
        }
    }

    /// <summary>
    /// While any kind lists again after 410 Gone (retried as long as it fails), the source is catching up: see
    /// <see cref="SourceFeed.SetCatchingUp"/>.
    /// </summary>
    private void RelistingChanged()
    {
        lock (_gate)
        {
            _feed.SetCatchingUp(_informers.Any(i => i.IsRelisting));
        }
    }

    private static IEnumerable<SourceChange> WholeState(ResourceInformer informer) =>
        [
            .. informer.Objects.Select(o => SourceChange.Of(o.Location.Source, o)),
            .. informer.Problems.Select(p => new SourceChange(p.Location?.Source ?? p.ToString(), new ManifestReadResult([], [p], []))),
        ];

    private static SourceChange Current(ResourceInformer informer, string ns, string name)
    {
        var origin = informer.SourceOf(ns, name);
        var (obj, problem) = informer.Find(ns, name);
        return obj is not null ? SourceChange.Of(origin, obj)
            : problem is not null ? new SourceChange(origin, new ManifestReadResult([], [problem], []))
            : SourceChange.Removed(origin);
    }
}
