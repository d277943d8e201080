namespace XdsControlPlane.Server;

/// <summary>The sidecar injector's start-up messages about ServiceAccount tokens (event ids 8100-8109).</summary>
internal static partial class SidecarInjectionLog
{
    [LoggerMessage(EventId = 8100, Level = LogLevel.Information, Message = "Sidecar injection: injected proxies send a projected ServiceAccount token (audience {Audience}, {ExpirationSeconds} s, {Path}) on their xDS stream over TLS")]
    public static partial void ProxiesSendToken(ILogger logger, string audience, int expirationSeconds, string path);

    [LoggerMessage(EventId = 8101, Level = LogLevel.Information, Message = "Sidecar injection: injected proxies send no ServiceAccount token although tokens are reviewed ({Mode}): a token is sent over TLS only and Injection:XdsCaFile (--inject-xds-ca-file) is not set, so they are served anonymously")]
    public static partial void ProxiesSendNoToken(ILogger logger, ListenerTls.TokenReviewMode mode);
}
