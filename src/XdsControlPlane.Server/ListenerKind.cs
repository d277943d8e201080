using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace XdsControlPlane.Server;

/// <summary>
/// Tags each Kestrel connection with the listener it arrived on, and answers 404 to a request for an endpoint that
/// belongs to another listener: admin endpoints answer only on the admin port, the xDS gRPC services only on the
/// xDS port and the admission webhook only on the webhook port, whatever ports were bound and however many listeners speak HTTP/2. A listener kind is not a data-plane
/// role (<c>DataPlaneRoles</c>), which names a group of Envoy nodes.
/// </summary>
internal static class ListenerKind
{
    /// <summary>The admin listener (<c>/healthz</c>, <c>/readyz</c>, <c>/metrics</c>, <c>/debug</c>).</summary>
    public const string Admin = "admin";

    /// <summary>The xDS listener (ADS, the per-type services, CSDS).</summary>
    public const string Xds = "xds";

    /// <summary>The tunnel broker's listener (local connect agents).</summary>
    public const string Tunnel = "tunnel";

    /// <summary>The mutating admission webhook's HTTPS listener (<c>POST /inject</c>).</summary>
    public const string Webhook = "webhook";

    private const string ItemKey = "xdscp.listener";

    /// <summary>Marks every connection accepted by <paramref name="listen"/> with <paramref name="kind"/>.</summary>
    public static void Tag(ListenOptions listen, string kind) =>
        listen.Use(next => connection =>
        {
            connection.Items[ItemKey] = kind;
            return next(connection);
        });

    /// <summary>The kind of the listener the request arrived on, or <see langword="null"/> (test servers).</summary>
    public static string? Of(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ItemKey, out var kind) == true ? kind as string : null;

    /// <summary>The endpoints of <paramref name="builder"/> answer only on listeners tagged <paramref name="kind"/> (see <see cref="UseListenerKinds"/>).</summary>
    public static TBuilder OnlyOn<TBuilder>(this TBuilder builder, string kind)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequiredListener(kind));

    /// <summary>Answers 404 to a request whose endpoint requires another listener than the one it arrived on.</summary>
    public static IApplicationBuilder UseListenerKinds(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<RequiredListener>() is { } required && Of(context) is { } arrived && arrived != required.Kind)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(context).ConfigureAwait(false);
        });

    /// <summary>Endpoint metadata: the listener kind an endpoint answers on.</summary>
    private sealed record RequiredListener(string Kind);
}
