using System.Security.Cryptography;
using System.Threading.Channels;

namespace XdsControlPlane.Server.Webhook;

/// <summary>
/// Serves the certificate of <c>--webhook-cert-file</c> and <c>--webhook-key-file</c> and reloads it when the files
/// change: a <see cref="FileSystemWatcher"/> on their directories (a mounted Secret swaps a symlink there) plus a check
/// every <see cref="WebhookListenerOptions.CheckInterval"/> for what notifications miss. A pair that does not load
/// (half written, key of another certificate) keeps the previous certificate in use and is read again a
/// <see cref="WebhookListenerOptions.RetryInterval"/> later; when it still fails, that is logged. The first load happens on start:
/// a bad pair then fails the start.
/// </summary>
internal sealed class FileCertificateSource(WebhookListenerOptions options, WebhookCertificateStore store, TimeProvider time, ILogger<FileCertificateSource> logger) : BackgroundService
{
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private string? _lastProblem;
    private int _failures;

    private string CertFile => options.CertFile!;

    private string KeyFile => options.KeyFile!;

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var bundle = await ReadAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Use(bundle);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"Webhook:CertFile and Webhook:KeyFile ('{CertFile}', '{KeyFile}') must be a PEM certificate and its private key: {e.Message}", e);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var watchers = new CompositeDisposable([.. new[] { CertFile, KeyFile }
            .Select(file => Path.GetDirectoryName(Path.GetFullPath(file))!)
            .Distinct(StringComparer.Ordinal)
            .Select(Watch)
            .OfType<FileSystemWatcher>()]);
        while (!stoppingToken.IsCancellationRequested)
        {
            using var tick = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            var delay = Task.Delay(_failures > 0 ? options.RetryInterval : options.CheckInterval, time, tick.Token);
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
            _changed.Reader.TryRead(out _);
            await ReloadAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        try
        {
            Use(await ReadAsync(cancellationToken).ConfigureAwait(false));
            _lastProblem = null;
            _failures = 0;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            // Files replaced one after the other fail once (the new key with the old certificate) and load on the retry
            // a RetryInterval later; a problem that lasts is logged once.
            if (++_failures >= 2 && _lastProblem != e.Message)
            {
                _lastProblem = e.Message;
                WebhookLog.CertificateRejected(logger, CertFile, e.Message);
            }
        }
    }

    private async Task<TlsBundle> ReadAsync(CancellationToken cancellationToken) => new(
        await File.ReadAllTextAsync(CertFile, cancellationToken).ConfigureAwait(false),
        await File.ReadAllTextAsync(KeyFile, cancellationToken).ConfigureAwait(false),
        "");

    private void Use(TlsBundle bundle)
    {
        if (store.Use(bundle) && store.Certificate is { } certificate)
        {
            WebhookLog.CertificateLoaded(logger, CertFile, certificate);
        }
    }

    /// <summary>A watcher of <paramref name="directory"/>, or null when the system has none to give (inotify limits): the periodic check remains.</summary>
    private FileSystemWatcher? Watch(string directory)
    {
        try
        {
            return NewWatcher(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            WebhookLog.NoFileNotifications(logger, directory, options.CheckInterval.TotalSeconds, e.Message);
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
