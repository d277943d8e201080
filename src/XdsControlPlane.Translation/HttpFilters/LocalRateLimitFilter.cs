using Envoy.Config.Core.V3;
using Envoy.Extensions.Common.Ratelimit.V3;
using Envoy.Extensions.Filters.Http.LocalRatelimit.V3;
using Envoy.Type.V3;
using Google.Protobuf;
using static XdsControlPlane.Translation.EnvoyBuilding;
using AccessLogFilter = Envoy.Config.Accesslog.V3.AccessLogFilter;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using HttpFilter = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter;
using LocalReplyConfig = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.LocalReplyConfig;
using ResponseFlagFilter = Envoy.Config.Accesslog.V3.ResponseFlagFilter;
using ResponseMapper = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.ResponseMapper;

namespace XdsControlPlane.Translation.HttpFilters;

/// <summary>
/// Envoy's local rate limit at the gateway, one token bucket per preview host (per gateway replica): the chain entry is
/// <c>disabled</c> and each preview host enables it with its own bucket (<see cref="PlannedPreview"/>: the owner's
/// <c>spec.previewRateLimit</c>, else the server's default). <c>filter_enabled</c> and <c>filter_enforced</c> are set to
/// 100% explicitly (Envoy's default for both is 0%: a bucket that is never consulted), the answer carries the
/// <c>x-ratelimit-*</c> headers (draft 03), and a refused request gets 429 with a short text body (a local reply mapper
/// on the connection manager for replies flagged <c>RL</c>, the flag the filter sets).
/// </summary>
internal sealed class LocalRateLimitFilter : HttpFilterTranslator
{
    /// <summary>The filter's name.</summary>
    public const string FilterName = "envoy.filters.http.local_ratelimit";

    /// <summary>The body of a 429 from a preview host's rate limit.</summary>
    public const string RateLimitedBody = "Too many requests to this preview: slow down and try again in a moment.\n";

    /// <summary>The stat prefix of the preview hosts' buckets (<c>preview_ratelimit.http_local_rate_limit.rate_limited</c> …).</summary>
    public const string StatPrefix = "preview_ratelimit";

    public override string Name => FilterName;

    public override bool RunsIn(string role) => role == DataPlaneRoles.Gateway;

    public override bool RunsWith(TranslationOptions options) => options.PreviewsEnabled;

    public override HttpFilter Entry(string role) =>
        new() { Name = Name, Disabled = true, TypedConfig = Typed(new LocalRateLimit { StatPrefix = StatPrefix }) };

    public override void ConfigureConnectionManager(Hcm connectionManager, string role)
    {
        ArgumentNullException.ThrowIfNull(connectionManager);
        connectionManager.LocalReplyConfig ??= new LocalReplyConfig();
        connectionManager.LocalReplyConfig.Mappers.Add(new ResponseMapper
        {
            Filter = new AccessLogFilter { ResponseFlagFilter = new ResponseFlagFilter { Flags = { "RL" } } },
            Body = new DataSource { InlineString = RateLimitedBody },
        });
    }

    public override IMessage? VirtualHostConfig(HttpFilterScope scope)
    {
        if (scope.Planned?.Preview is not { } preview)
        {
            return null;
        }

        return new LocalRateLimit
        {
            StatPrefix = StatPrefix,
            TokenBucket = new TokenBucket
            {
                MaxTokens = (uint)preview.Burst,
                TokensPerFill = (uint)preview.RequestsPerSecond,
                FillInterval = Duration(TimeSpan.FromSeconds(1)),
            },
            FilterEnabled = Always("preview_ratelimit_enabled"),
            FilterEnforced = Always("preview_ratelimit_enforced"),
            EnableXRatelimitHeaders = XRateLimitHeadersRFCVersion.DraftVersion03,
        };
    }

    private static RuntimeFractionalPercent Always(string runtimeKey) => new()
    {
        DefaultValue = new FractionalPercent { Numerator = 100, Denominator = FractionalPercent.Types.DenominatorType.Hundred },
        RuntimeKey = runtimeKey,
    };
}
