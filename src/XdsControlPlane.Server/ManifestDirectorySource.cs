using Microsoft.Extensions.Options;
using XdsControlPlane.Model;
using XdsControlPlane.Sources;

namespace XdsControlPlane.Server;

/// <summary>
/// The embedded source: reads every manifest below <c>--manifests DIR</c> and hands the files to the
/// <see cref="SourcePipeline"/>, then watches the directory (file-system events plus a periodic check for missed
/// events), tells the pipeline when something changed, and reads again when the pipeline asks — once its debounce
/// has passed, so a burst of writes is read once. Only files whose size or modification time
/// changed are read and parsed again, and only those count as changes; the pipeline keeps the last good version of
/// each broken object, publishes, and reports problems. A directory that disappears keeps what was published.
/// </summary>
internal sealed class ManifestDirectorySource : BackgroundService, IPublicationObserver
{
    private readonly ManifestDirectoryReader _reader;
    private readonly SourceFeed _feed;
    private readonly TimeProvider _clock;
    private readonly ILogger<ManifestDirectorySource> _logger;
    private readonly ManifestSourceOptions _options;
    private FileSystemWatcher? _watcher;
    private volatile bool _watcherFailed;
    private bool _watchUnavailableLogged;
    private bool _directoryMissing;
    private int _parsed;
    private volatile int _files;
    private int _handedOn;

    public ManifestDirectorySource(ManifestDirectoryReader reader, SourcePipeline pipeline, TimeProvider clock, ILogger<ManifestDirectorySource> logger, IOptions<ManifestSourceOptions> configured)
    {
        _reader = reader;
        _clock = clock;
        _logger = logger;
        _options = configured.Value;
        _feed = pipeline.Register("manifests", _ => Reload(first: false));
        pipeline.Observe(this);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            Reload(first: true);
            using var poll = new PeriodicTimer(_options.PollInterval, _clock);
            await PollAsync(poll, stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            _watcher?.Dispose();
        }
    }

    /// <summary>A pass of the pipeline that applied files read here: say what is in force.</summary>
    public void Applied(Publication publication)
    {
        ArgumentNullException.ThrowIfNull(publication);
        if (Interlocked.Exchange(ref _handedOn, 0) == 0)
        {
            return;
        }

        var parsed = Interlocked.Exchange(ref _parsed, 0);
        var result = publication.Result;
        if (!publication.Published)
        {
            ManifestLog.NothingChanged(_logger, parsed, _files);
        }

        var inputs = result.Inputs;
        ManifestLog.Loaded(_logger, _reader.Directory, inputs.RouteGroups.Count, inputs.Sandboxes.Count, inputs.LocalWorkloads.Count, inputs.Services.Count, publication.Problems.Count);
        ManifestLog.Applied(_logger, parsed, _files, result.Changed.Count, result.Validated);
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
        var watcher = new FileSystemWatcher(_reader.Directory)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        FileSystemEventHandler changed = (_, _) => _feed.Changed();
        watcher.Changed += changed;
        watcher.Created += changed;
        watcher.Deleted += changed;
        watcher.Renamed += (_, _) => _feed.Changed();
        watcher.Error += (_, _) =>
        {
            _watcherFailed = true;
            _feed.Changed();
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
                ManifestLog.WatchUnavailable(_logger, _reader.Directory, _options.PollInterval.TotalSeconds, e.Message);
            }
        }
    }

    private async Task PollAsync(PeriodicTimer poll, CancellationToken stoppingToken)
    {
        try
        {
            while (await poll.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (_feed.IsSynced)
                {
                    _feed.Changed();
                }
                else
                {
                    // The first read failed (an I/O error): the pipeline waits for this source, so read again here.
                    Reload(first: true);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Reads the directory and hands the files to the pipeline when any changed (always the first time, when the source becomes synced).</summary>
    private void Reload(bool first)
    {
        IReadOnlyList<ManifestFile> files;
        bool changed;
        try
        {
            // Watch before reading, so a change made while reading is not missed.
            if (Directory.Exists(_reader.Directory))
            {
                EnsureWatching();
            }

            var parsedBefore = _reader.FilesParsed;
            files = _reader.Read(out changed);
            Interlocked.Add(ref _parsed, _reader.FilesParsed - parsedBefore);
        }
        catch (DirectoryNotFoundException)
        {
            // Gone (a checkout being replaced, a volume being remounted): keep serving what was published, say so once.
            if (!_directoryMissing)
            {
                _directoryMissing = true;
                ManifestLog.DirectoryMissing(_logger, _reader.Directory, _options.PollInterval.TotalSeconds);
            }

            _watcherFailed = true;
            if (first)
            {
                // Nothing to serve yet: an empty directory until it appears.
                _feed.Replace([]);
                _feed.MarkSynced();
            }

            return;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // For example the directory vanishing between the check and the watcher's creation: keep what is
            // published, create the watcher again next time.
            _watcherFailed = true;
            ManifestLog.ReloadFailed(_logger, _reader.Directory, e);
            return;
        }

        if (_directoryMissing)
        {
            _directoryMissing = false;
            ManifestLog.DirectoryBack(_logger, _reader.Directory);
        }

        if (!changed && !first)
        {
            return;
        }

        _files = files.Count;
        Interlocked.Exchange(ref _handedOn, 1);
        _feed.Replace(files);
        if (first)
        {
            _feed.MarkSynced();
        }

        var ignored = files.SelectMany(f => f.Contents.IgnoredKinds).ToArray();
        if (ignored.Length > 0 && _logger.IsEnabled(LogLevel.Debug))
        {
            var kinds = string.Join(", ", ignored.Distinct().Order(StringComparer.Ordinal));
            ManifestLog.IgnoredKinds(_logger, ignored.Length, kinds);
        }
    }
}

/// <summary>The manifest directory source: where it reads and how it watches (<see cref="ServerServiceCollectionExtensions.AddManifestSource"/>).</summary>
internal sealed class ManifestSourceOptions
{
    /// <summary>The directory of manifests.</summary>
    public string Directory { get; set; } = "";

    /// <summary>How often the directory is checked for changes the file-system watcher missed.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The problems with these settings; empty when valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            yield return "Directory must name the manifest directory.";
        }

        if (PollInterval <= TimeSpan.Zero)
        {
            yield return $"PollInterval must be positive, got {PollInterval}.";
        }
    }
}
