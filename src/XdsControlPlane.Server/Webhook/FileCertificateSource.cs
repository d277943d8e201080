namespace XdsControlPlane.Server.Webhook;

/// <summary>
/// Serves the certificate of <c>--webhook-cert-file</c> and <c>--webhook-key-file</c> and reloads it when the files
/// change (<see cref="CertificateFileWatch"/>): a pair that does not load keeps the previous certificate in use, a
/// problem that lasts is logged once, and a bad pair on start fails the start.
/// </summary>
internal sealed class FileCertificateSource(WebhookListenerOptions options, WebhookCertificateStore store, TimeProvider time, ILogger<FileCertificateSource> logger)
    : CertificateFileWatch(options.CertFile!, options.KeyFile!, time)
{
    /// <inheritdoc />
    protected override TimeSpan CheckInterval => options.CheckInterval;

    /// <inheritdoc />
    protected override TimeSpan RetryInterval => options.RetryInterval;

    /// <inheritdoc />
    protected override void Use(string certificatePem, string keyPem)
    {
        if (store.Use(new TlsBundle(certificatePem, keyPem, "")) && store.Certificate is { } certificate)
        {
            WebhookLog.CertificateLoaded(logger, CertFile, certificate);
        }
    }

    /// <inheritdoc />
    protected override void Rejected(string reason) => WebhookLog.CertificateRejected(logger, CertFile, reason);

    /// <inheritdoc />
    protected override void NoFileNotifications(string directory, string reason) =>
        WebhookLog.NoFileNotifications(logger, directory, options.CheckInterval.TotalSeconds, reason);

    /// <inheritdoc />
    protected override Exception StartFailure(Exception problem) =>
        new InvalidOperationException($"Webhook:CertFile and Webhook:KeyFile ('{CertFile}', '{KeyFile}') must be a PEM certificate and its private key: {problem.Message}", problem);
}
