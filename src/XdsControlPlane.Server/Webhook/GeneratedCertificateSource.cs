namespace XdsControlPlane.Server.Webhook;

/// <summary>
/// Without certificate files or a Secret: a CA and a serving certificate generated in memory on start (its CA on
/// <c>/debug/webhook-ca</c> and in <c>--webhook-ca-file</c>), generated anew when a third of the serving
/// certificate's life is left, checked every <see cref="WebhookListenerOptions.CheckInterval"/>. Each replica has its own CA.
/// </summary>
internal sealed class GeneratedCertificateSource(WebhookListenerOptions options, IReadOnlyList<string> dnsNames, WebhookCertificateStore store, TimeProvider time, ILogger<GeneratedCertificateSource> logger) : BackgroundService
{
    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await GenerateAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(options.CheckInterval, time, stoppingToken).ConfigureAwait(false);
            if (store.Bundle?.NeedsRenewal(time.GetUtcNow()) != false)
            {
                await GenerateAsync(stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private async Task GenerateAsync(CancellationToken cancellationToken)
    {
        var bundle = WebhookCertificates.Generate(dnsNames, time.GetUtcNow(), options.CertificateLifetime, store.Bundle?.CaPem ?? "");
        store.Use(bundle);
        WebhookLog.CertificateLoaded(logger, "a generated CA (see /debug/webhook-ca)", store.Certificate!);
        if (options.CaFile is { } file)
        {
            await WriteAtomicallyAsync(file, bundle.CaPem, cancellationToken).ConfigureAwait(false);
            WebhookLog.CaFileWritten(logger, file);
        }
    }

    /// <summary>Writes <paramref name="text"/> to a temporary file beside <paramref name="file"/> and renames it over it, so a reader never sees half of it.</summary>
    private static async Task WriteAtomicallyAsync(string file, string text, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(file);
        var temporary = full + ".tmp";
        await File.WriteAllTextAsync(temporary, text, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, full, overwrite: true);
    }
}
