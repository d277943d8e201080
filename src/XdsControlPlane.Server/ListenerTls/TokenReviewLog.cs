namespace XdsControlPlane.Server.ListenerTls;

/// <summary>ServiceAccount token review's log messages (event ids 7800-7809). No token is ever logged.</summary>
internal static partial class TokenReviewLog
{
    [LoggerMessage(EventId = 7800, Level = LogLevel.Information, Message = "xDS listener: ServiceAccount tokens checked with TokenReview ({Mode}, audience {Audience}, verdicts reused up to {CacheSeconds:0.#} s)")]
    public static partial void TokenReviewOn(ILogger logger, TokenReviewMode mode, string audience, double cacheSeconds);

    [LoggerMessage(EventId = 7801, Level = LogLevel.Warning, Message = "xDS listener: ServiceAccount tokens are checked but the listener is plaintext, so tokens cross the network in the clear and whoever reads one can present it until it expires; serve TLS (--xds-tls-cert-file/--xds-tls-key-file or --xds-tls-secret)")]
    public static partial void PlaintextTokens(ILogger logger);

    [LoggerMessage(EventId = 7802, Level = LogLevel.Warning, Message = "A ServiceAccount token {Problem}: xDS streams whose token has no cached verdict are refused with UNAVAILABLE until the API server answers; this line is written at most once per {IntervalSeconds:0.#} s ({Unlogged} failures left out since the last one)")]
    public static partial void ReviewFailing(ILogger logger, string problem, int unlogged, double intervalSeconds);

    [LoggerMessage(EventId = 7803, Level = LogLevel.Information, Message = "TokenReview answers again after {Failures} failed reviews")]
    public static partial void ReviewAnswering(ILogger logger, int failures);
}
