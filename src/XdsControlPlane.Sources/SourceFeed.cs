using XdsControlPlane.Model;

namespace XdsControlPlane.Sources;

/// <summary>
/// One source's way into the <see cref="SourcePipeline"/> (<see cref="SourcePipeline.Register"/>). A source only
/// produces changes: either deltas (<see cref="Apply"/>: the cluster's watch events, a laptop arriving or leaving) or
/// its whole state each time (<see cref="Replace"/>: the files of a directory, of which only those whose contents
/// changed count). A source that must read to know what changed (a directory) says only that something did
/// (<see cref="Changed"/>) and is asked to read once the pipeline's debounce has passed — so an editor's several
/// writes, or a directory removed file by file, are read once, when they are done. The pipeline's first pass waits
/// until every registered source said <see cref="MarkSynced"/>. Thread-safe.
/// </summary>
public sealed class SourceFeed
{
    private readonly SourcePipeline _pipeline;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ManifestReadResult> _known = new(StringComparer.Ordinal);
    private readonly Action<SourceFeed>? _read;
    private volatile bool _synced;
    private volatile bool _catchingUp;
    private volatile bool _dirty;

    internal SourceFeed(SourcePipeline pipeline, string name, Action<SourceFeed>? read)
    {
        _pipeline = pipeline;
        Name = name;
        _read = read;
    }

    /// <summary>The source's name (for logs).</summary>
    public string Name { get; }

    /// <summary>Whether the source has delivered its whole state once.</summary>
    public bool IsSynced => _synced;

    /// <summary>
    /// Whether the source knows its view is behind and is reading its whole state again (a Kubernetes informer listing
    /// again after 410 Gone, or retrying that list): what it gave so far may lack objects that exist, so a reference to
    /// one of them is not yet judged missing.
    /// </summary>
    public bool IsCatchingUp => _catchingUp;

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

    /// <summary>Something changed at the source: it is asked to read (the <c>read</c> it registered with) at the next pass, after the debounce.</summary>
    public void Changed()
    {
        _dirty = true;
        _pipeline.Signal();
    }

    /// <summary>Has the source read now if it said it changed (the pipeline, at the start of a pass).</summary>
    internal void ReadIfChanged()
    {
        if (_read is not null && _dirty)
        {
            _dirty = false;
            _read(this);
        }
    }

    /// <summary>
    /// Says whether the source is catching up (<see cref="IsCatchingUp"/>). While any source is, the pipeline still
    /// publishes what is valid, but holds back reporting references to objects that do not exist: they are logged once
    /// every source has caught up, if they still hold.
    /// </summary>
    public void SetCatchingUp(bool catchingUp)
    {
        if (_catchingUp != catchingUp)
        {
            _catchingUp = catchingUp;
            _pipeline.Signal();
        }
    }

    /// <summary>The source has delivered its whole state: the first pass may run once every source has.</summary>
    public void MarkSynced()
    {
        _synced = true;
        _pipeline.Signal();
    }
}
