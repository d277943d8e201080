using XdsControlPlane.Translation;

namespace XdsControlPlane.Server.GatewayTls;

/// <summary>
/// The gateway's HTTPS certificate from <c>--gateway-tls-cert-file</c> and <c>--gateway-tls-key-file</c>, reloaded
/// when the files change (<see cref="CertificateFileWatch"/>): each pair is checked (<see cref="GatewayCertificate.Parse"/>);
/// a bad pair keeps the last good one and is logged once; a bad pair on start fails the start.
/// </summary>
internal sealed class GatewayCertificateFiles(GatewayTlsOptions options, GatewayCertificateStore store, TimeProvider time, ILogger<GatewayCertificateFiles> logger)
    : CertificateFileWatch(options.CertFile!, options.KeyFile!, time)
{
    /// <inheritdoc />
    protected override TimeSpan CheckInterval => options.CheckInterval;

    /// <inheritdoc />
    protected override TimeSpan RetryInterval => options.RetryInterval;

    /// <inheritdoc />
    protected override void Use(string certificatePem, string keyPem) =>
        store.Use(GatewayCertificate.Parse(certificatePem, keyPem, $"{CertFile} and {KeyFile}"), CertFile);

    /// <inheritdoc />
    protected override void Rejected(string reason) => GatewayTlsLog.CertificateRejected(logger, CertFile, store.KeptText, reason);

    /// <inheritdoc />
    protected override void NoFileNotifications(string directory, string reason) =>
        GatewayTlsLog.NoFileNotifications(logger, directory, options.CheckInterval.TotalSeconds, reason);

    /// <inheritdoc />
    protected override Exception StartFailure(Exception problem) =>
        new InvalidOperationException($"GatewayTls:CertFile and GatewayTls:KeyFile must be a PEM certificate chain and its private key: {problem.Message}", problem);
}
