using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using XdsControlPlane.Model;

namespace XdsControlPlane.Sources;

/// <summary>
/// The one way from a source's change to a published snapshot, for every source. Sources register a
/// <see cref="SourceFeed"/> and hand it changes; this loop debounces them (<see cref="SourcePipelineOptions"/>: one
/// rule for files and the cluster), applies them to the <see cref="LastGoodManifestSet"/> (a broken new version keeps
/// its last good one), puts the result in the <see cref="RoutingInputsStore"/>, publishes it through the
/// <see cref="IRoutingPublisher"/> when an input in force changed, logs each problem once while it lasts, and tells
/// the <see cref="IPublicationObserver"/>s (status writers) — which take note and return, so publication never waits
/// for a status write. The first pass runs as soon as every source has synced, without debounce.
/// </summary>
/// <remarks>
/// With an <see cref="IEndpointPublisher"/>, changes that are only EndpointSlices (each read without problems) also go
/// the endpoint lane: a loop of their own that, after the same debounce, has them published from the last translation
/// while a pass may still be translating something else (a Service added, the first publication of the other groups).
/// They are applied by the next pass as every change is.
/// </remarks>
public sealed class SourcePipeline : BackgroundService
{
    private readonly IRoutingPublisher _publisher;
    private readonly RoutingInputsStore _store;
    private readonly TimeProvider _clock;
    private readonly ILogger<SourcePipeline> _logger;
    private readonly SourcePipelineOptions _options;
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<bool> _endpointSignal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly IEndpointPublisher? _endpoints;
    private Dictionary<string, EndpointChange[]> _endpointChanges = new(StringComparer.Ordinal);
    private long _sequence;
    private readonly Lock _gate = new();
    private readonly List<SourceFeed> _feeds = [];
    private readonly List<IPublicationObserver> _observers = [];
    private readonly LastGoodManifestSet _set = new();
    private readonly ProblemLog _problemLog = new();
    private Dictionary<string, SourceChange> _pending = new(StringComparer.Ordinal);
    private IReadOnlyList<ManifestProblem> _translationProblems = [];
    private (IReadOnlyList<ManifestProblem> Problems, IReadOnlyList<ResourceKey> KeptLastGood)? _held;
    private volatile bool _published;
    private bool _failed;

    /// <summary>A pipeline publishing through <paramref name="publisher"/> and keeping the inputs in force in <paramref name="store"/>.</summary>
    public SourcePipeline(IRoutingPublisher publisher, RoutingInputsStore store, TimeProvider clock, ILogger<SourcePipeline> logger, SourcePipelineOptions? options = null)
    {
        _publisher = publisher ?? throw new ArgumentNullException(nameof(publisher));
        _endpoints = publisher as IEndpointPublisher;
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _options = options ?? new SourcePipelineOptions();
        var problems = _options.Validate().ToArray();
        if (problems.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }
    }

    /// <summary>True once the first pass has published (every source synced).</summary>
    public bool HasPublished => _published;

    /// <summary>
    /// A new source: its changes count from now on, and the first pass waits for it to sync. A source that reads when
    /// told something changed gives <paramref name="read"/>: called on this loop at the start of a pass after
    /// <see cref="SourceFeed.Changed"/>, it hands what it read to the feed.
    /// </summary>
    public SourceFeed Register(string name, Action<SourceFeed>? read = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var feed = new SourceFeed(this, name, read);
        lock (_gate)
        {
            _feeds.Add(feed);
        }

        return feed;
    }

    /// <summary>Has <paramref name="observer"/> told of every pass from now on.</summary>
    public void Observe(IPublicationObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_gate)
        {
            _observers.Add(observer);
        }
    }

    /// <summary>True while a change of <paramref name="origin"/> waits for the next pass (a status writer must not judge its newer version against an older publication).</summary>
    public bool IsPending(string origin)
    {
        lock (_gate)
        {
            return _pending.ContainsKey(origin);
        }
    }

    internal void Submit(IReadOnlyCollection<SourceChange> changes)
    {
        var endpoints = false;
        lock (_gate)
        {
            _sequence++;
            foreach (var change in changes)
            {
                _pending[change.Origin] = change;
                if (_endpoints is null)
                {
                    continue;
                }

                // Any other change of the origin (its removal, a problem, another kind) supersedes what the lane held of it.
                if (IsEndpointChange(change))
                {
                    _endpointChanges[change.Origin] = [.. change.Contents!.Objects.Select(o => new EndpointChange((EndpointSlice)o.Resource, _sequence))];
                    endpoints = true;
                }
                else
                {
                    _endpointChanges.Remove(change.Origin);
                }
            }
        }

        Signal();
        if (endpoints)
        {
            _endpointSignal.Writer.TryWrite(true);
        }
    }

    /// <summary>A change that only gives EndpointSlices, each read without problems (what the endpoint lane may publish ahead of the pass).</summary>
    private static bool IsEndpointChange(SourceChange change) =>
        change.Contents is { Problems.Count: 0, Objects: { Count: > 0 } objects } && objects.All(o => o.Resource is EndpointSlice);

    internal void Signal() => _signal.Writer.TryWrite(true);

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        _endpoints is null ? PassesAsync(stoppingToken) : Task.WhenAll(PassesAsync(stoppingToken), EndpointLaneAsync(_endpoints, stoppingToken));

    private async Task PassesAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _signal.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                _signal.Reader.TryRead(out _);
                if (!AllSynced())
                {
                    continue;
                }

                if (_published)
                {
                    await DebounceAsync(_signal, stoppingToken).ConfigureAwait(false);
                }

                Pass();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// The endpoint lane: EndpointSlice changes published from the last translation, after the same debounce as a pass,
    /// without waiting for the pass in progress (the publisher ignores them before it has a translation: the first pass
    /// includes them).
    /// </summary>
    private async Task EndpointLaneAsync(IEndpointPublisher endpoints, CancellationToken stoppingToken)
    {
        await Task.Yield();
        try
        {
            while (await _endpointSignal.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                _endpointSignal.Reader.TryRead(out _);
                await DebounceAsync(_endpointSignal, stoppingToken).ConfigureAwait(false);
                EndpointChange[] changes;
                lock (_gate)
                {
                    changes = [.. _endpointChanges.Values.SelectMany(c => c)];
                    _endpointChanges = new(StringComparer.Ordinal);
                }

                if (changes.Length == 0)
                {
                    continue;
                }

                try
                {
                    endpoints.PublishEndpoints(changes);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The pass that follows publishes the same change; a bug here never stops the server.
                    SourcePipelineLog.EndpointLaneFailed(_logger, changes.Length, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private bool AllSynced()
    {
        lock (_gate)
        {
            return _feeds.Count > 0 && _feeds.TrueForAll(f => f.IsSynced);
        }
    }

    /// <summary>Waits until no change has come for the debounce time, or the longest debounce passed.</summary>
    private async Task DebounceAsync(Channel<bool> signal, CancellationToken stoppingToken)
    {
        var started = _clock.GetTimestamp();
        do
        {
            await Task.Delay(_options.Debounce, _clock, stoppingToken).ConfigureAwait(false);
        }
        while (signal.Reader.TryRead(out _) && _clock.GetElapsedTime(started) < _options.MaxDebounce);
    }

    /// <summary>Applies what is pending, publishes when an input in force changed, reports problems and tells the observers.</summary>
    private void Pass()
    {
        SourceFeed[] feeds;
        lock (_gate)
        {
            feeds = [.. _feeds];
        }

        foreach (var feed in feeds)
        {
            try
            {
                feed.ReadIfChanged();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                SourcePipelineLog.ReadFailed(_logger, feed.Name, e);
            }
        }

        Dictionary<string, SourceChange> changes;
        IPublicationObserver[] observers;
        long included;
        lock (_gate)
        {
            included = _sequence;
            changes = _pending;
            _pending = new(StringComparer.Ordinal);
            observers = [.. _observers];
        }

        // After a pass that failed, the next one publishes whatever is in force and has every object's status judged
        // again, as the first pass does: what the failed pass applied is not lost.
        var first = !_published || _failed;
        var catchingUp = Array.Exists(feeds, f => f.IsCatchingUp);
        if (changes.Count == 0 && !first)
        {
            if (_held is { } held && !catchingUp)
            {
                // Every source has caught up and found nothing new: the references held back are judged now.
                Report(held.Problems, held.KeptLastGood, catchingUp);
            }

            return;
        }

        Publication publication;
        try
        {
            var files = new List<ManifestFile>();
            var removed = new List<string>();
            foreach (var change in changes.Values)
            {
                if (change.Contents is { } contents)
                {
                    files.Add(new ManifestFile(change.Origin, contents));
                }
                else
                {
                    removed.Add(change.Origin);
                }
            }

            var result = _set.Apply(files, removed);
            var publish = first || result.InputsChanged;
            if (publish)
            {
                _translationProblems = _endpoints is null ? _publisher.Publish(result.Inputs) : _endpoints.Publish(result.Inputs, included);
                _store.Set(result.Inputs);
                _published = true;
            }

            _failed = false;

            var translation = result.Unreported(_translationProblems);
            Report([.. result.Problems, .. translation], result.KeptLastGood, catchingUp);
            SourcePipelineLog.Applied(_logger, changes.Count, result.Changed.Count, result.Validated, publish);
            publication = new Publication(result, [.. result.Problems, .. translation], first, publish);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Reading never throws for bad input; this is a bug in translation or publication. The last published
            // snapshot stays in force and the next change is tried again: one bad pass never stops the server.
            _failed = true;
            SourcePipelineLog.PassFailed(_logger, changes.Count, e);
            return;
        }

        foreach (var observer in observers)
        {
            try
            {
                observer.Applied(publication);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                SourcePipelineLog.ObserverFailed(_logger, observer.GetType().Name, e);
            }
        }
    }

    /// <summary>
    /// Logs the problems not logged before. While a source is catching up, a reference to an object that does not exist
    /// may only mean the source has not read it yet (a Service listed again after 410 Gone, behind the RouteGroup that
    /// names it): such a problem is held back, not logged, until every source has caught up — then it is logged if it
    /// still holds. One already logged stays logged (it is not said twice).
    /// </summary>
    private void Report(IReadOnlyList<ManifestProblem> problems, IReadOnlyList<ResourceKey> keptLastGood, bool catchingUp)
    {
        // Each problem is logged once while it lasts, not again on every pass.
        const string Kept = "kept:";
        // A held-out virtual host's owners are told in status; the host itself is logged where it is held out (event 3200).
        var entries = problems.Where(p => p.Kind != ProblemKind.HeldOut).Select(p => (Resource: p.Resource, Kind: (ProblemKind?)p.Kind, Text: p.ToString()))
            .Concat(keptLastGood.Select(k => (Resource: (ResourceKey?)k, Kind: (ProblemKind?)null, Text: Kept + k)))
            .ToArray();
        var shown = entries;
        if (catchingUp)
        {
            // An object kept at its last good version only for such references is held back with them.
            var otherwiseBroken = problems.Where(p => p.Kind != ProblemKind.UnresolvedReference).Select(p => p.Resource).ToHashSet();
            shown = [.. entries.Where(e => _problemLog.WasReported(e.Text)
                || (e.Kind is { } kind ? kind != ProblemKind.UnresolvedReference : otherwiseBroken.Contains(e.Resource)))];
        }

        _held = shown.Length < entries.Length ? (problems, keptLastGood) : null;
        if (_held is not null)
        {
            SourcePipelineLog.ReferencesHeld(_logger, entries.Length - shown.Length);
        }

        foreach (var entry in _problemLog.Fresh(shown.Select(e => e.Text)))
        {
            if (entry.StartsWith(Kept, StringComparison.Ordinal))
            {
                SourcePipelineLog.KeptLastGood(_logger, entry[Kept.Length..]);
            }
            else
            {
                SourcePipelineLog.Invalid(_logger, entry);
            }
        }
    }
}
