using System.Threading.Channels;
using Microsoft.Extensions.Options;
using XdsControlPlane.Model;

namespace XdsControlPlane.Server;

/// <summary>
/// The embedded source: loads every manifest below <c>--manifests DIR</c>, publishes snapshots, then watches the
/// directory (file-system events plus a periodic check for missed events), debounces bursts of changes and
/// publishes again. Broken files or objects are logged with file, document and field path; the last good version
/// of each broken object stays in force and nothing else is disturbed. Only files whose size or modification time
/// changed are read and parsed again, only their objects are applied and (unless what references resolve against
/// changed) validated, and a reload that changes nothing in force — a file rewritten with the same routing content —
/// publishes nothing.
/// </summary>
internal sealed class ManifestDirectorySource(
    ManifestDirectoryReader reader,
    SnapshotPublisher publisher,
    TimeProvider clock,
    ILogger<ManifestDirectorySource> logger,
    IOptions<ManifestSourceOptions> configured,
    Tunnel.InMemoryLocalWorkloads? agents = null) : BackgroundService
{
    private readonly ManifestSourceOptions _options = configured.Value;
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly LastGoodManifestSet _manifests = new();
    private readonly ProblemLog _problemLog = new();
    private IReadOnlyList<ManifestProblem> _translationProblems = [];
    private FileSystemWatcher? _watcher;
    private volatile bool _watcherFailed;
    private bool _watchUnavailableLogged;
    private bool _directoryMissing;
    private volatile bool _agentsChanged;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (agents is not null)
        {
            // A laptop connecting or leaving publishes at once (after the same debounce as a file change).
            agents.Changed += () =>
            {
                _agentsChanged = true;
                _changes.Writer.TryWrite(true);
            };
        }

        try
        {
            Reload(force: true);
            using var poll = new PeriodicTimer(_options.PollInterval, clock);
            var polling = PollAsync(poll, stoppingToken);
            try
            {
                while (await _changes.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
                {
                    _changes.Reader.TryRead(out _);
                    var started = clock.GetTimestamp();

                    // Debounce: wait until the directory has been quiet for a moment (editors write in several steps).
                    do
                    {
                        await Task.Delay(_options.Debounce, clock, stoppingToken).ConfigureAwait(false);
                    }
                    while (_changes.Reader.TryRead(out _) && clock.GetElapsedTime(started) < _options.MaxDebounce);

                    Reload(force: false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
            }

            await polling.ConfigureAwait(false);
        }
        finally
        {
            _watcher?.Dispose();
        }
    }

    /// <summary>
    /// (Re)creates the file-system watcher when there is none or the last one failed, so a directory that was deleted
    /// and created again is watched again (a watcher stays bound to the directory it was created on).
    /// </summary>
    private void EnsureWatching()
    {
        if (_watcher is not null && !_watcherFailed)
        {
            return;
        }

        _watcher?.Dispose();
        _watcher = null;
        _watcherFailed = false;
        var watcher = new FileSystemWatcher(reader.Directory)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        FileSystemEventHandler changed = (_, _) => _changes.Writer.TryWrite(true);
        watcher.Changed += changed;
        watcher.Created += changed;
        watcher.Deleted += changed;
        watcher.Renamed += (_, _) => _changes.Writer.TryWrite(true);
        watcher.Error += (_, _) =>
        {
            _watcherFailed = true;
            _changes.Writer.TryWrite(true);
        };
        try
        {
            watcher.EnableRaisingEvents = true;
            _watcher = watcher;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            // For example the inotify instance limit: the periodic check still picks up every change, only later.
            watcher.Dispose();
            if (!_watchUnavailableLogged)
            {
                _watchUnavailableLogged = true;
                ManifestLog.WatchUnavailable(logger, reader.Directory, _options.PollInterval.TotalSeconds, e.Message);
            }
        }
    }

    private async Task PollAsync(PeriodicTimer poll, CancellationToken stoppingToken)
    {
        try
        {
            while (await poll.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                _changes.Writer.TryWrite(true);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Reload(bool force)
    {
        IReadOnlyList<ManifestFile> files;
        bool changed;
        var parsed = 0;
        try
        {
            // Watch before reading, so a change made while reading is not missed.
            if (Directory.Exists(reader.Directory))
            {
                EnsureWatching();
            }

            var parsedBefore = reader.FilesParsed;
            files = reader.Read(out changed);
            parsed = reader.FilesParsed - parsedBefore;
        }
        catch (DirectoryNotFoundException)
        {
            // Gone (a checkout being replaced, a volume being remounted): keep serving what was published, say so once.
            if (!_directoryMissing)
            {
                _directoryMissing = true;
                ManifestLog.DirectoryMissing(logger, reader.Directory, _options.PollInterval.TotalSeconds);
            }

            _watcherFailed = true;
            return;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // For example the directory vanishing between the check and the watcher's creation: keep what is
            // published, create the watcher again next time.
            _watcherFailed = true;
            ManifestLog.ReloadFailed(logger, reader.Directory, e);
            return;
        }

        if (_directoryMissing)
        {
            _directoryMissing = false;
            ManifestLog.DirectoryBack(logger, reader.Directory);
            force = true;
        }

        var agentsChanged = _agentsChanged;
        _agentsChanged = false;
        if (!changed && !force && !agentsChanged)
        {
            return;
        }

        try
        {
            var result = _manifests.Apply(files);
            if (result.InputsChanged || force || agentsChanged)
            {
                _translationProblems = publisher.Publish(WithAgents(result.Inputs));
            }
            else
            {
                ManifestLog.NothingChanged(logger, parsed, files.Count);
            }

            var translationProblems = result.Unreported(_translationProblems);
            IReadOnlyList<ManifestProblem> problems = [.. result.Problems, .. translationProblems];
            Report(problems, result.KeptLastGood);
            var inputs = result.Inputs;
            ManifestLog.Loaded(logger, reader.Directory, inputs.RouteGroups.Count, inputs.Sandboxes.Count, inputs.LocalWorkloads.Count, inputs.Services.Count, problems.Count);
            ManifestLog.Applied(logger, parsed, files.Count, result.Changed.Count, result.Validated);
            var ignored = files.SelectMany(f => f.Contents.IgnoredKinds).ToArray();
            if (ignored.Length > 0 && logger.IsEnabled(LogLevel.Debug))
            {
                var kinds = string.Join(", ", ignored.Distinct().Order(StringComparer.Ordinal));
                ManifestLog.IgnoredKinds(logger, ignored.Length, kinds);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Reading never throws for bad input; this is a bug in translation or publication. The last published
            // snapshot stays in force and the next change is tried again: one bad reload never stops the server.
            ManifestLog.ReloadFailed(logger, reader.Directory, e);
        }
    }

    /// <summary>The files' objects plus the LocalWorkloads agents registered with the tunnel broker.</summary>
    private RoutingInputs WithAgents(RoutingInputs inputs)
    {
        var registered = agents?.Workloads ?? [];
        return registered.Count == 0
            ? inputs
            : new RoutingInputs([.. inputs.Services, .. inputs.EndpointSlices, .. inputs.RouteGroups, .. inputs.Sandboxes, .. inputs.LocalWorkloads, .. registered]);
    }

    private void Report(IReadOnlyList<ManifestProblem> problems, IReadOnlyList<ResourceKey> keptLastGood)
    {
        // Each problem is logged once while it lasts, not again on every reload.
        const string Kept = "kept:";
        foreach (var entry in _problemLog.Fresh([.. problems.Select(p => p.ToString()), .. keptLastGood.Select(k => Kept + k)]))
        {
            if (entry.StartsWith(Kept, StringComparison.Ordinal))
            {
                ManifestLog.KeptLastGood(logger, entry[Kept.Length..]);
            }
            else
            {
                ManifestLog.Invalid(logger, entry);
            }
        }
    }
}

/// <summary>The manifest directory source: where it reads and how it watches (<see cref="ServerServiceCollectionExtensions.AddManifestSource"/>).</summary>
internal sealed class ManifestSourceOptions
{
    /// <summary>The directory of manifests.</summary>
    public string Directory { get; set; } = "";

    /// <summary>Quiet time after a change before reloading.</summary>
    public TimeSpan Debounce { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest a continuous burst of changes delays a reload.</summary>
    public TimeSpan MaxDebounce { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the directory is checked for changes the file-system watcher missed.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            yield return "Directory must name the manifest directory.";
        }

        if (Debounce <= TimeSpan.Zero || MaxDebounce < Debounce)
        {
            yield return $"Debounce must be positive and at most MaxDebounce, got {Debounce} and {MaxDebounce}.";
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            yield return $"PollInterval must be positive, got {PollInterval}.";
        }
    }
}
