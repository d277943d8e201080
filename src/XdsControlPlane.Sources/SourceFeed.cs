using XdsControlPlane.Model;

namespace XdsControlPlane.Sources;

/// <summary>
/// One source's way into the <see cref="SourcePipeline"/> (<see cref="SourcePipeline.Register"/>). A source only
/// produces changes: either deltas (<see cref="Apply"/>: the cluster's watch events, a laptop arriving or leaving) or
/// its whole state each time (<see cref="Replace"/>: the files of a directory, of which only those whose contents
/// changed count). The pipeline's first pass waits until every registered source said <see cref="MarkSynced"/>.
/// Thread-safe.
/// </summary>
public sealed class SourceFeed
{
    private readonly SourcePipeline _pipeline;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ManifestReadResult> _known = new(StringComparer.Ordinal);
    private volatile bool _synced;

    internal SourceFeed(SourcePipeline pipeline, string name)
    {
        _pipeline = pipeline;
        Name = name;
    }

    /// <summary>The source's name (for logs).</summary>
    public string Name { get; }

    /// <summary>Whether the source has delivered its whole state once.</summary>
    public bool IsSynced => _synced;

    /// <summary>Queues <paramref name="changes"/> for the next pass.</summary>
    public void Apply(IReadOnlyCollection<SourceChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Count > 0)
        {
            _pipeline.Submit(changes);
        }
    }

    /// <summary>
    /// Queues the difference between <paramref name="origins"/> — the source's whole state — and what it gave before:
    /// an origin whose contents are a new instance changed, one not given any more is removed.
    /// </summary>
    public void Replace(IEnumerable<ManifestFile> origins)
    {
        ArgumentNullException.ThrowIfNull(origins);
        var changes = new List<SourceChange>();
        lock (_gate)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (origin, contents) in origins)
            {
                if (seen.Add(origin) && !(_known.TryGetValue(origin, out var previous) && ReferenceEquals(previous, contents)))
                {
                    _known[origin] = contents;
                    changes.Add(new SourceChange(origin, contents));
                }
            }

            foreach (var gone in _known.Keys.Where(origin => !seen.Contains(origin)).ToArray())
            {
                _known.Remove(gone);
                changes.Add(SourceChange.Removed(gone));
            }
        }

        Apply(changes);
    }

    /// <summary>The source has delivered its whole state: the first pass may run once every source has.</summary>
    public void MarkSynced()
    {
        _synced = true;
        _pipeline.Signal();
    }
}
