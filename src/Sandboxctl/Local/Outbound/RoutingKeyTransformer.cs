using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Sandboxctl.Local.Outbound;

/// <summary>
/// YARP's default transform (headers copied, the app's authority kept through the destination prefix) plus the
/// routing-key headers (<see cref="RoutingKeyHeaders"/>) of the tunnel's current key; and for streaming responses (gRPC,
/// server-sent events) the response headers go to the app at once, not with the first message: a bidi client may
/// wait for them before it sends.
/// </summary>
internal sealed class RoutingKeyTransformer(OutboundTunnel tunnel) : HttpTransformer
{
    /// <inheritdoc />
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(proxyRequest);
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        if (tunnel.RoutingKey is not { } key)
        {
            return;
        }

        var headers = httpContext.Request.Headers;
        var (header, baggage) = RoutingKeyHeaders.Complete(headers[RoutingKeyHeaders.HeaderName], headers[RoutingKeyHeaders.BaggageName], key);
        proxyRequest.Headers.Remove(RoutingKeyHeaders.HeaderName);
        proxyRequest.Headers.Remove(RoutingKeyHeaders.BaggageName);
        proxyRequest.Headers.TryAddWithoutValidation(RoutingKeyHeaders.HeaderName, (IEnumerable<string?>)header);
        proxyRequest.Headers.TryAddWithoutValidation(RoutingKeyHeaders.BaggageName, (IEnumerable<string?>)baggage);
    }

    /// <inheritdoc />
    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var copy = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken).ConfigureAwait(false);
        var media = proxyResponse?.Content.Headers.ContentType?.MediaType ?? "";
        if (copy && (media.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) || media.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase)))
        {
            await httpContext.Response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        return copy;
    }
}
