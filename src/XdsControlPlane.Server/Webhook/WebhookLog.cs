namespace XdsControlPlane.Server.Webhook;

/// <summary>The mutating webhook's log messages (event ids 7200-7219).</summary>
internal static partial class WebhookLog
{
    [LoggerMessage(EventId = 7200, Level = LogLevel.Information, Message = "Admission webhook listening on port {Port} (HTTPS, POST /inject); reviewers for {Resources}")]
    public static partial void Listening(ILogger logger, int port, string resources);

    [LoggerMessage(EventId = 7201, Level = LogLevel.Error, Message = "Admission review {Uid} of {Resource} {Namespace}/{Name}: the reviewer failed; answered 500 so the API server applies the webhook's failurePolicy")]
    public static partial void ReviewerFailed(ILogger logger, string uid, string resource, string @namespace, string name, Exception exception);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Warning, Message = "Admission requests for {Resource} reach the webhook, which has no reviewer for them; they are admitted unchanged with a warning (check the MutatingWebhookConfiguration's rules). Logged once per resource")]
    public static partial void NoReviewer(ILogger logger, string resource);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Debug, Message = "Admission review {Uid}: {Operation} {Resource} {Namespace}/{Name} by {User}: allowed={Allowed}, {Operations} patch operations ({Message})")]
    public static partial void Reviewed(ILogger logger, string uid, string operation, string resource, string @namespace, string name, string user, bool allowed, int operations, string? message);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Debug, Message = "Admission request refused before review: {Status} {Problem}")]
    public static partial void BadRequest(ILogger logger, int status, string problem);

    [LoggerMessage(EventId = 7205, Level = LogLevel.Information, Message = "Webhook serving certificate loaded from {Source} (subject {Subject}, valid until {NotAfter:u})")]
    public static partial void CertificateLoaded(ILogger logger, string source, string subject, DateTime notAfter);

    /// <summary>Logs <paramref name="certificate"/> loaded from <paramref name="source"/>.</summary>
    public static void CertificateLoaded(ILogger logger, string source, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            var subject = certificate.Subject;
            var notAfter = certificate.NotAfter.ToUniversalTime();
            CertificateLoaded(logger, source, subject, notAfter);
        }
    }

    [LoggerMessage(EventId = 7206, Level = LogLevel.Warning, Message = "Webhook certificate from {Source} not loaded, the previous one stays in use: {Reason}")]
    public static partial void CertificateRejected(ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 7207, Level = LogLevel.Information, Message = "Webhook certificate Secret {Namespace}/{Name}: {Action}")]
    public static partial void SecretWritten(ILogger logger, string @namespace, string name, string action);

    [LoggerMessage(EventId = 7208, Level = LogLevel.Information, Message = "MutatingWebhookConfiguration {Name}: caBundle of {Count} webhooks set to the current CA")]
    public static partial void CaBundlePatched(ILogger logger, string name, int count);

    [LoggerMessage(EventId = 7209, Level = LogLevel.Warning, Message = "Webhook certificates in the cluster: {Problem}; trying again in {Seconds:0.#} s")]
    public static partial void ClusterProblem(ILogger logger, string problem, double seconds);

    [LoggerMessage(EventId = 7211, Level = LogLevel.Information, Message = "No change notifications for {Directory} ({Reason}): the webhook certificate files are checked every {Seconds:0.#} s instead")]
    public static partial void NoFileNotifications(ILogger logger, string directory, double seconds, string reason);

    [LoggerMessage(EventId = 7210, Level = LogLevel.Information, Message = "Webhook CA written to {File}")]
    public static partial void CaFileWritten(ILogger logger, string file);
}
