using XdsControlPlane.Server.Webhook;

namespace XdsControlPlane.Server.ListenerTls;

/// <summary>
/// A listener's serving certificate from <c>--xds-tls-cert-file</c>/<c>--tunnel-tls-cert-file</c> and its key file,
/// reloaded when the files change (<see cref="CertificateFileWatch"/>): a pair that does not load keeps the previous
/// certificate, a problem that lasts is logged once, a bad pair on start fails the start. Also loads the client CA file on start.
/// </summary>
internal sealed class ListenerCertificateFiles(ListenerCredentials credentials, TimeProvider time, ILogger<ListenerCertificateFiles> logger)
    : CertificateFileWatch(credentials.Options.CertFile!, credentials.Options.KeyFile!, time)
{
    /// <inheritdoc />
    protected override TimeSpan CheckInterval => credentials.Options.CheckInterval;

    /// <inheritdoc />
    protected override TimeSpan RetryInterval => credentials.Options.RetryInterval;

    /// <inheritdoc />
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        credentials.ClientCa.LoadFile();
        return base.StartAsync(cancellationToken);
    }

    /// <inheritdoc />
    protected override void Use(string certificatePem, string keyPem)
    {
        if (credentials.Serving.Use(new TlsBundle(certificatePem, keyPem, "")))
        {
            ListenerTlsLog.CertificateLoaded(logger, credentials.Listener, CertFile, credentials.Serving);
        }
    }

    /// <inheritdoc />
    protected override void Rejected(string reason) => ListenerTlsLog.CertificateRejected(logger, credentials.Listener, CertFile, reason);

    /// <inheritdoc />
    protected override void NoFileNotifications(string directory, string reason) =>
        ListenerTlsLog.NoFileNotifications(logger, credentials.Listener, directory, CheckInterval.TotalSeconds, reason);

    /// <inheritdoc />
    protected override Exception StartFailure(Exception problem) =>
        new InvalidOperationException($"{credentials.Listener} listener: {CertFile} and {KeyFile} must be a PEM certificate and its private key: {problem.Message}", problem);
}
