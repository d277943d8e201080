using System.Buffers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace XdsControlPlane.Server.Webhook;

/// <summary>
/// <c>POST /inject</c>: an AdmissionReview admission.k8s.io/v1 in, the AdmissionReview with its response out. Only
/// POST (405 otherwise), only <c>application/json</c> (415), at most <see cref="WebhookListenerOptions.MaxRequestBytes"/>
/// (413), a malformed envelope 400 naming the field; a reviewer that fails 500 (the webhook's failurePolicy decides).
/// </summary>
internal static class WebhookEndpoint
{
    /// <summary>The path the MutatingWebhookConfiguration's <c>clientConfig.service.path</c> names.</summary>
    public const string Path = "/inject";

    /// <summary>Maps <see cref="Path"/>; the caller restricts it to the webhook listener.</summary>
    public static IEndpointConventionBuilder MapAdmissionWebhook(this IEndpointRouteBuilder app) =>
        app.MapMethods(Path, [HttpMethods.Get, HttpMethods.Post, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Delete], HandleAsync);

    private static async Task HandleAsync(HttpContext context, AdmissionDispatcher dispatcher, ILogger<AdmissionDispatcher> logger)
    {
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await RefuseAsync(context, logger, StatusCodes.Status405MethodNotAllowed, $"{Path} takes POST (an AdmissionReview), got {context.Request.Method}").ConfigureAwait(false);
            return;
        }

        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type) || !type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(context, logger, StatusCodes.Status415UnsupportedMediaType, $"Content-Type: must be application/json, got '{context.Request.ContentType}'").ConfigureAwait(false);
            return;
        }

        if (context.Request.ContentLength > WebhookListenerOptions.MaxRequestBytes)
        {
            await RefuseAsync(context, logger, StatusCodes.Status413PayloadTooLarge, TooLarge).ConfigureAwait(false);
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = WebhookListenerOptions.MaxRequestBytes + 1L;
        }

        var body = await ReadBodyAsync(context).ConfigureAwait(false);
        if (body is null)
        {
            await RefuseAsync(context, logger, StatusCodes.Status413PayloadTooLarge, TooLarge).ConfigureAwait(false);
            return;
        }

        var (document, subject, problem) = AdmissionReviewReader.Read(body.Value);
        using (document)
        {
            if (subject is null)
            {
                await RefuseAsync(context, logger, StatusCodes.Status400BadRequest, problem!).ConfigureAwait(false);
                return;
            }

            if (dispatcher.Review(subject) is not { } verdict)
            {
                await WriteTextAsync(context, StatusCodes.Status500InternalServerError, $"request.uid {subject.Uid}: the reviewer of {subject.Resource} failed (see the webhook's log)").ConfigureAwait(false);
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(AdmissionReviewWriter.Write(subject.Uid, verdict), context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static string TooLarge => $"body: larger than {WebhookListenerOptions.MaxRequestBytes} bytes (the API server's requests are at most 3 MiB)";

    /// <summary>The body, or <see langword="null"/> when it is larger than the limit (checked while reading: a chunked body has no length).</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > WebhookListenerOptions.MaxRequestBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private static Task RefuseAsync(HttpContext context, ILogger logger, int status, string problem)
    {
        WebhookLog.BadRequest(logger, status, problem);
        return WriteTextAsync(context, status, problem);
    }

    private static Task WriteTextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text + "\n", context.RequestAborted);
    }
}
