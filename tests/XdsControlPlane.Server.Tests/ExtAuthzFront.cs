using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Envoy.Service.Auth.V3;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using XdsControlPlane.Testing;

namespace XdsControlPlane.Server.Tests;

/// <summary>
/// A stand-in for the gateway's <c>ext_authz</c> filter in front of one preview, for browser tests on a machine without
/// Envoy: HTTPS on loopback with the preview's wildcard certificate; each request becomes the <c>CheckRequest</c> the
/// filter sends (method, path with its query, host, scheme, the headers of <c>allowed_headers</c> as docs/previews.md
/// lists them, lower-cased, the preview's <c>context_extensions</c>) to the control plane's Authorization service over
/// real gRPC, and the answer becomes what Envoy writes: a denial's status, headers and body as they are; on OK the
/// headers the answer removes are removed and the request goes on to the "application" — an echo of what reached it,
/// and a WebSocket echo at <c>/ws</c>. What only a real Envoy shows (its own codecs, upgrades, local replies) is the
/// Docker suite's (PreviewWholePathTests).
/// </summary>
internal sealed class ExtAuthzFront : IAsyncDisposable
{
    /// <summary>The request headers the gateway's filter sends to the service (<c>ExtAuthzFilter.AllowedHeaders</c>).</summary>
    private static readonly string[] AllowedHeaders = ["authorization", "cookie", "accept", "origin", "access-control-request-method", "access-control-request-headers"];

    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;

    private ExtAuthzFront(WebApplication app, GrpcChannel channel, int port)
    {
        _app = app;
        _channel = channel;
        Port = port;
    }

    /// <summary>The HTTPS port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Starts the front for <paramref name="preview"/>, asking the Authorization service on 127.0.0.1:<paramref name="authorizationPort"/>.</summary>
    public static async Task<ExtAuthzFront> StartAsync(int authorizationPort, TestCertificate certificate, PreviewUnderTest preview, CancellationToken cancellationToken)
    {
        var port = FreePort.Next();
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{authorizationPort}");
        var client = new global::Envoy.Service.Auth.V3.Authorization.AuthorizationClient(channel);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var serving = X509Certificate2.CreateFromPem(certificate.ChainPem, certificate.KeyPem);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(serving)));
        var app = builder.Build();
        app.UseWebSockets();
        app.Use(async (context, next) =>
        {
            var answer = await client.CheckAsync(CheckOf(context, preview), cancellationToken: context.RequestAborted);
            if (answer.HttpResponseCase == CheckResponse.HttpResponseOneofCase.DeniedResponse || answer.Status.Code != 0)
            {
                var denied = answer.DeniedResponse ?? new DeniedHttpResponse();
                context.Response.StatusCode = denied.Status is { Code: not 0 } status ? (int)status.Code : StatusCodes.Status403Forbidden;
                foreach (var header in denied.Headers)
                {
                    context.Response.Headers.Append(header.Header.Key, header.Header.Value);
                }

                await context.Response.WriteAsync(denied.Body, context.RequestAborted);
                return;
            }

            foreach (var removed in answer.OkResponse?.HeadersToRemove ?? [])
            {
                context.Request.Headers.Remove(removed);
            }

            await next(context);
        });
        app.Map("/ws", async (HttpContext context) =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[256];
            var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
            await socket.SendAsync(Encoding.UTF8.GetBytes("application: " + Encoding.UTF8.GetString(buffer, 0, received.Count)), WebSocketMessageType.Text, endOfMessage: true, context.RequestAborted);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", context.RequestAborted);
        });
        app.MapFallback((HttpContext context) => Results.Text(
            $"application\n{context.Request.Method} {context.Request.Path}{context.Request.QueryString}\n" + string.Concat(context.Request.Headers.Select(h => $"{h.Key.ToLowerInvariant()}: {h.Value}\n"))));
        await app.StartAsync(cancellationToken);
        return new ExtAuthzFront(app, channel, port);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _channel.Dispose();
    }

    /// <summary>The CheckRequest the gateway's filter sends for <paramref name="context"/>'s request to <paramref name="preview"/>.</summary>
    private static CheckRequest CheckOf(HttpContext context, PreviewUnderTest preview)
    {
        var path = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var check = PreviewCheckRequests.For(preview, context.Request.Method, path);
        var http = check.Attributes.Request.Http;
        http.Host = context.Request.Host.Value ?? "";
        http.Headers[":authority"] = http.Host;
        foreach (var name in AllowedHeaders)
        {
            // The captured request's browser headers (PreviewCheckRequests.For) give way to what this browser sent.
            if (context.Request.Headers.TryGetValue(name, out var values))
            {
                http.Headers[name] = string.Join(name == "cookie" ? "; " : ",", values.ToArray());
            }
            else
            {
                http.Headers.Remove(name);
            }
        }

        return check;
    }
}
