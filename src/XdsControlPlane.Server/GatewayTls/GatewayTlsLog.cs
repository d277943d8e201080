namespace XdsControlPlane.Server.GatewayTls;

/// <summary>The gateway HTTPS certificate's log messages (event ids 7320-7339). They name certificates (subject, names, expiry, fingerprint), never keys.</summary>
internal static partial class GatewayTlsLog
{
    [LoggerMessage(EventId = 7320, Level = LogLevel.Information, Message = "Gateway HTTPS certificate from {Source} in use: {Certificate}; gateways get it over SDS as secret {SecretName}")]
    public static partial void CertificateLoaded(ILogger logger, string source, string certificate, string secretName);

    [LoggerMessage(EventId = 7321, Level = LogLevel.Warning, Message = "Gateway HTTPS certificate from {Source} not used, {Kept}: {Reason}")]
    public static partial void CertificateRejected(ILogger logger, string source, string kept, string reason);

    [LoggerMessage(EventId = 7322, Level = LogLevel.Warning, Message = "Gateway HTTPS certificate from {Source} is {Problem}: browsers will refuse it ({Certificate}); it is served until a valid one replaces it")]
    public static partial void CertificateNotValidNow(ILogger logger, string source, string problem, string certificate);

    [LoggerMessage(EventId = 7323, Level = LogLevel.Warning, Message = "Gateway HTTPS certificate Secret {Source} was deleted; {Kept}")]
    public static partial void SecretDeleted(ILogger logger, string source, string kept);

    [LoggerMessage(EventId = 7324, Level = LogLevel.Information, Message = "Gateway HTTPS certificate Secret {Source} does not exist yet; gateways serve plain HTTP until it does (cert-manager writes it once the certificate is issued)")]
    public static partial void SecretMissing(ILogger logger, string source);

    [LoggerMessage(EventId = 7325, Level = LogLevel.Information, Message = "No change notifications for {Directory} ({Reason}): the gateway certificate files are checked every {Seconds:0.#} s instead")]
    public static partial void NoFileNotifications(ILogger logger, string directory, double seconds, string reason);
}
