using Envoy.Config.Core.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.ExtAuthz.V3;
using Envoy.Type.Matcher.V3;
using Envoy.Type.V3;
using Google.Protobuf;
using XdsControlPlane.Model;
using static XdsControlPlane.Translation.EnvoyBuilding;
using HttpFilter = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpFilter;

namespace XdsControlPlane.Translation.HttpFilters;

/// <summary>
/// Envoy's external authorization filter at the gateway, guarding preview hosts: each request to a <c>shared</c> or
/// <c>personal</c> preview is checked by the control plane's <c>envoy.service.auth.v3.Authorization</c> service (served on
/// the xDS port, reached through the bootstrap's static cluster <see cref="EnvoyBootstrapRenderer.ControlPlaneCluster"/>).
/// Fails closed: an unreachable or slow service answers <see cref="StatusOnError"/>, never lets the request through.
/// </summary>
/// <remarks>
/// The chain entry is <c>disabled</c>, so no other virtual host runs it; each preview host enables it with its own
/// <c>ExtAuthzPerRoute.check_settings</c> (Envoy: "Legitimate route-specific configuration for filter ... is valid way to
/// enable the filter for the route", docs/root/intro/arch_overview/http/http_filters.rst, "Route based filter chain";
/// <c>HttpFilter.disabled</c>: "the filter is disabled by default and must be explicitly enabled by setting per filter
/// configuration in the route configuration"). Those settings carry the preview's identity as
/// <c>context_extensions</c> (<see cref="PreviewAuthorizationContext"/>) so the service never parses <c>Host</c>. A
/// <c>public</c> preview's route sets <c>disabled: true</c> (the most specific per-filter config wins).
/// </remarks>
internal sealed class ExtAuthzFilter : HttpFilterTranslator
{
    /// <summary>The filter's name.</summary>
    public const string FilterName = "envoy.filters.http.ext_authz";

    /// <summary>How long the gateway waits for a decision.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    /// <summary>What the gateway answers when the service cannot decide (unreachable, timed out, failed).</summary>
    public const StatusCode StatusOnError = StatusCode.ServiceUnavailable;

    /// <summary>
    /// The request headers sent to the service (besides method, path, host and scheme, which every check carries): the
    /// token's carriers and what tells a browser's CORS preflight and the wanted answer format apart.
    /// </summary>
    public static readonly IReadOnlyList<string> AllowedHeaders = ["authorization", "cookie", "accept", "origin", "access-control-request-method", "access-control-request-headers"];

    public override string Name => FilterName;

    public override bool RunsIn(string role) => role == DataPlaneRoles.Gateway;

    public override bool RunsWith(TranslationOptions options) => options.PreviewsEnabled;

    public override HttpFilter Entry(string role)
    {
        var config = new ExtAuthz
        {
            GrpcService = new GrpcService
            {
                EnvoyGrpc = new GrpcService.Types.EnvoyGrpc { ClusterName = EnvoyBootstrapRenderer.ControlPlaneCluster },
                Timeout = Duration(Timeout),
            },
            TransportApiVersion = ApiVersion.V3,
            FailureModeAllow = false,
            StatusOnError = new HttpStatus { Code = StatusOnError },
            IncludePeerCertificate = false,
            StatPrefix = "preview",
            AllowedHeaders = new ListStringMatcher(),
        };
        foreach (var header in AllowedHeaders)
        {
            config.AllowedHeaders.Patterns.Add(new StringMatcher { Exact = header });
        }

        return new HttpFilter { Name = Name, Disabled = true, TypedConfig = Typed(config) };
    }

    public override IMessage? VirtualHostConfig(HttpFilterScope scope)
    {
        if (scope.Planned?.Preview is not { Site: var site })
        {
            return null;
        }

        return new ExtAuthzPerRoute
        {
            CheckSettings = new CheckSettings
            {
                ContextExtensions =
                {
                    [PreviewAuthorizationContext.OwnerKind] = site.OwnerKind,
                    [PreviewAuthorizationContext.Namespace] = site.Namespace,
                    [PreviewAuthorizationContext.OwnerName] = site.OwnerName,
                    [PreviewAuthorizationContext.Service] = site.Service,
                    [PreviewAuthorizationContext.Port] = ClusterTranslator.Text(site.Port),
                    [PreviewAuthorizationContext.Access] = site.Access,
                    [PreviewAuthorizationContext.Host] = site.Host,
                },
            },
        };
    }

    public override IMessage? RouteConfig(HttpFilterScope scope, Route route) =>
        scope.Planned?.Preview is { Site.Access: Preview.Public } ? new ExtAuthzPerRoute { Disabled = true } : null;
}
