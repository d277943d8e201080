namespace XdsControlPlane.Server.ListenerTls;

/// <summary>The xDS and tunnel listeners' TLS and node identity log messages (event ids 1300-1319). No key, no certificate body is ever logged.</summary>
internal static partial class ListenerTlsLog
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "{Listener} listener: serving certificate loaded from {Source} (subject {Subject}, valid until {NotAfter:u}, sent with {Intermediates} intermediate certificates); new connections get it, open ones keep theirs")]
    public static partial void CertificateLoaded(ILogger logger, string listener, string source, string subject, DateTime notAfter, int intermediates);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "{Listener} listener: certificate from {Source} not loaded, the previous one stays in use: {Reason}")]
    public static partial void CertificateRejected(ILogger logger, string listener, string source, string reason);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "No change notifications for {Directory} ({Reason}): the {Listener} listener's certificate files are checked every {Seconds:0.#} s instead")]
    public static partial void NoFileNotifications(ILogger logger, string listener, string directory, double seconds, string reason);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "{Listener} listener: {Source} does not exist (yet); TLS handshakes fail until it does")]
    public static partial void SecretMissing(ILogger logger, string listener, string source);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Information, Message = "{Listener} listener: client CA bundle loaded from {Source} ({Count} certificates)")]
    public static partial void ClientCaLoaded(ILogger logger, string listener, string source, int count);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "{Listener} listener: client CA bundle from {Source} not loaded, the previous one stays in use: {Reason}")]
    public static partial void ClientCaRejected(ILogger logger, string listener, string source, string reason);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Information, Message = "xDS stream refused (PERMISSION_DENIED, {Reason}): {Refusal}")]
    public static partial void NodeRefused(ILogger logger, string reason, string refusal);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Debug, Message = "{Listener} listener: client certificate '{Subject}' refused: {Problem}")]
    public static partial void ClientCertificateRefused(ILogger logger, string listener, string subject, string problem);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Information, Message = "{Listener} listener: TLS on, client certificates {ClientCertificates}{Identity}")]
    public static partial void TlsOn(ILogger logger, string listener, ClientCertificates clientCertificates, string identity);

    /// <summary>Logs the certificate <paramref name="store"/> serves, loaded from <paramref name="source"/> for <paramref name="listener"/>: its subject, expiry and chain length, nothing else.</summary>
    public static void CertificateLoaded(ILogger logger, string listener, string source, ServingCertificateStore store)
    {
        if (logger.IsEnabled(LogLevel.Information) && store.Certificate is { } certificate)
        {
            var subject = certificate.Subject;
            var notAfter = certificate.NotAfter.ToUniversalTime();
            CertificateLoaded(logger, listener, source, subject, notAfter, store.IntermediateCount);
        }
    }
}
