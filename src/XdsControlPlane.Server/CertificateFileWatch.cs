using System.Security.Cryptography;
using System.Threading.Channels;

namespace XdsControlPlane.Server;

/// <summary>
/// Reads a certificate file and its key file, and again when they change: a <see cref="FileSystemWatcher"/> on their
/// directories (a mounted Secret swaps a symlink there) plus a check every <see cref="CheckInterval"/> for what
/// notifications miss. A pair that does not load (half written, key of another certificate) keeps the previous one in
/// use and is read again once the files have been quiet for a <see cref="RetryInterval"/> (a write in progress keeps
/// notifying); when it still fails, <see cref="Rejected"/> is told, once per distinct problem. The first load happens on start: a bad pair then fails the start. The webhook's serving
/// certificate and the gateway's HTTPS certificate both load this way.
/// </summary>
/// <param name="certFile">The certificate (PEM).</param>
/// <param name="keyFile">Its private key (PEM).</param>
/// <param name="time">The clock of the checks.</param>
internal abstract class CertificateFileWatch(string certFile, string keyFile, TimeProvider time) : BackgroundService
{
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    /// <summary>How many times change notifications may put off the retry of a pair that failed.</summary>
    private const int MaxRetryPostponements = 10;

    private string? _lastProblem;
    private int _failures;

    /// <summary>The certificate file.</summary>
    protected string CertFile => certFile;

    /// <summary>The key file.</summary>
    protected string KeyFile => keyFile;

    /// <summary>How often the files are read without a change notification.</summary>
    protected abstract TimeSpan CheckInterval { get; }

    /// <summary>How soon a pair that failed is read again.</summary>
    protected abstract TimeSpan RetryInterval { get; }

    /// <summary>Puts the pair in use (nothing when it is the one in use).</summary>
    /// <exception cref="CryptographicException">Not a certificate and its key.</exception>
    /// <exception cref="ArgumentException">Not a certificate and its key.</exception>
    /// <exception cref="FormatException">Not a certificate and its key.</exception>
    protected abstract void Use(string certificatePem, string keyPem);

    /// <summary>A changed pair that does not load, after its retry: the previous one stays in use. Called once per distinct <paramref name="reason"/>.</summary>
    protected abstract void Rejected(string reason);

    /// <summary>The files could not be watched: only the periodic check remains.</summary>
    protected abstract void NoFileNotifications(string directory, string reason);

    /// <summary>The exception that fails the start when the first pair does not load.</summary>
    protected abstract Exception StartFailure(Exception problem);

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var (certificate, key) = await ReadAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Use(certificate, key);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or FormatException)
        {
            throw StartFailure(e);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var watchers = new CompositeDisposable([.. new[] { certFile, keyFile }
            .Select(file => Path.GetDirectoryName(Path.GetFullPath(file))!)
            .Distinct(StringComparer.Ordinal)
            .Select(Watch)
            .OfType<FileSystemWatcher>()]);
        while (!stoppingToken.IsCancellationRequested)
        {
            if (_failures > 0)
            {
                // A pair that just failed is most likely still being written: read it again once the files have been
                // quiet for a RetryInterval (each change notification starts the wait over, a few times at most).
                for (var quiet = 0; quiet < MaxRetryPostponements && await ChangedWithinAsync(RetryInterval, stoppingToken).ConfigureAwait(false); quiet++)
                {
                }
            }
            else
            {
                _ = await ChangedWithinAsync(CheckInterval, stoppingToken).ConfigureAwait(false);
            }

            await ReloadAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for a change notification or for <paramref name="interval"/> to pass; true when a change came first.</summary>
    private async Task<bool> ChangedWithinAsync(TimeSpan interval, CancellationToken stoppingToken)
    {
        using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var delay = Task.Delay(interval, time, tick.Token);
        var changed = _changed.Reader.WaitToReadAsync(tick.Token).AsTask();
        try
        {
            await Task.WhenAny(delay, changed).ConfigureAwait(false);
        }
        finally
        {
            await tick.CancelAsync().ConfigureAwait(false);
        }

        stoppingToken.ThrowIfCancellationRequested();
        return _changed.Reader.TryRead(out _) && !delay.IsCompletedSuccessfully;
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (certificate, key) = await ReadAsync(cancellationToken).ConfigureAwait(false);
            Use(certificate, key);
            _lastProblem = null;
            _failures = 0;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            // Files replaced one after the other fail once (the new key with the old certificate) and load on the retry
            // a RetryInterval later; a problem that lasts is told once.
            if (++_failures >= 2 && _lastProblem != e.Message)
            {
                _lastProblem = e.Message;
                Rejected(e.Message);
            }
        }
    }

    private async Task<(string Certificate, string Key)> ReadAsync(CancellationToken cancellationToken) => (
        await File.ReadAllTextAsync(certFile, cancellationToken).ConfigureAwait(false),
        await File.ReadAllTextAsync(keyFile, cancellationToken).ConfigureAwait(false));

    /// <summary>A watcher of <paramref name="directory"/>, or null when the system has none to give (inotify limits): the periodic check remains.</summary>
    private FileSystemWatcher? Watch(string directory)
    {
        try
        {
            return NewWatcher(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            NoFileNotifications(directory, e.Message);
            return null;
        }
    }

    private FileSystemWatcher NewWatcher(string directory)
    {
        var watcher = new FileSystemWatcher(directory)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        watcher.Changed += (_, _) => _changed.Writer.TryWrite(true);
        watcher.Created += (_, _) => _changed.Writer.TryWrite(true);
        watcher.Deleted += (_, _) => _changed.Writer.TryWrite(true);
        watcher.Renamed += (_, _) => _changed.Writer.TryWrite(true);
        watcher.Error += (_, _) => _changed.Writer.TryWrite(true);
        watcher.EnableRaisingEvents = true;
        return watcher;
    }

    /// <summary>Disposes every watcher.</summary>
    private sealed class CompositeDisposable(IReadOnlyList<IDisposable> parts) : IDisposable
    {
        public void Dispose()
        {
            foreach (var part in parts)
            {
                part.Dispose();
            }
        }
    }
}
