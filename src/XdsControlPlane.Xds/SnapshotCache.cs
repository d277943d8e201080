namespace XdsControlPlane.Xds;

/// <summary>The result of <see cref="SnapshotCache.SetSnapshot"/>.</summary>
/// <param name="Accepted">True when the snapshot is now served.</param>
/// <param name="Problems">Why it was rejected (consistency problems); empty when accepted.</param>
public sealed record SnapshotUpdate(bool Accepted, IReadOnlyList<string> Problems);

/// <summary>A snapshot as published to a group, with the time it was published (for time-to-ACK).</summary>
/// <param name="Snapshot">The snapshot.</param>
/// <param name="PublishedAt">When <see cref="SnapshotCache.SetSnapshot"/> accepted it.</param>
public sealed record PublishedSnapshot(Snapshot Snapshot, DateTimeOffset PublishedAt);

/// <summary>
/// The current snapshot of each node group, and the streams watching them. Publishing replaces a group's snapshot
/// atomically (after the consistency check) and wakes that group's streams; a rejected snapshot leaves the
/// previous one in place.
/// </summary>
public sealed class SnapshotCache(TimeProvider clock)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, PublishedSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Unwatch>> _watchers = new(StringComparer.Ordinal);

    /// <summary>A cache on the system clock.</summary>
    public SnapshotCache()
        : this(TimeProvider.System)
    {
    }

    /// <summary>Groups that have a snapshot.</summary>
    public IReadOnlyList<string> Groups
    {
        get
        {
            lock (_gate)
            {
                return _snapshots.Keys.Order(StringComparer.Ordinal).ToArray();
            }
        }
    }

    /// <summary>Checks <paramref name="snapshot"/> and, when consistent, serves it to <paramref name="group"/>.</summary>
    public SnapshotUpdate SetSnapshot(string group, Snapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(snapshot);
        // A snapshot made by Snapshot.With from the one served needs only its changes checked; should another
        // publication replace the base meanwhile, the whole snapshot is checked after all.
        var served = GetSnapshot(group)?.Snapshot;
        (IReadOnlyList<string>? problems, var changesOnly) = SnapshotConsistency.Check(snapshot, served);
        while (true)
        {
            problems ??= SnapshotConsistency.Check(snapshot);
            if (problems.Count > 0)
            {
                return new SnapshotUpdate(false, problems);
            }

            Action[] toWake;
            lock (_gate)
            {
                var current = _snapshots.GetValueOrDefault(group);
                if (changesOnly && !ReferenceEquals(current?.Snapshot, served))
                {
                    (problems, changesOnly) = (null, false); // checked outside the lock
                    continue;
                }

                if (current is not null && current.Snapshot.Version == snapshot.Version)
                {
                    return new SnapshotUpdate(true, []);
                }

                _snapshots[group] = new PublishedSnapshot(snapshot, clock.GetUtcNow());
                toWake = _watchers.TryGetValue(group, out var watchers) ? watchers.Select(w => w.OnChange).ToArray() : [];
            }

            foreach (var wake in toWake)
            {
                wake();
            }

            return new SnapshotUpdate(true, []);
        }
    }

    /// <summary>The snapshot served to <paramref name="group"/>, or <see langword="null"/> before the first publication.</summary>
    public PublishedSnapshot? GetSnapshot(string group)
    {
        lock (_gate)
        {
            return _snapshots.GetValueOrDefault(group);
        }
    }

    /// <summary>Calls <paramref name="onChange"/> (which must not block) whenever <paramref name="group"/> gets a new snapshot.</summary>
    public IDisposable Watch(string group, Action onChange)
    {
        var watch = new Unwatch(this, group, onChange);
        lock (_gate)
        {
            if (!_watchers.TryGetValue(group, out var watchers))
            {
                _watchers[group] = watchers = [];
            }

            watchers.Add(watch);
        }

        return watch;
    }

    /// <summary>One watch, by reference: removing it is O(1) however many streams watch the group.</summary>
    private sealed class Unwatch(SnapshotCache cache, string group, Action onChange) : IDisposable
    {
        public Action OnChange { get; } = onChange;

        public void Dispose()
        {
            lock (cache._gate)
            {
                if (cache._watchers.TryGetValue(group, out var watchers) && watchers.Remove(this) && watchers.Count == 0)
                {
                    cache._watchers.Remove(group);
                }
            }
        }
    }
}
