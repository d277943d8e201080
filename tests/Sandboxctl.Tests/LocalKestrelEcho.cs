using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Sandboxctl.Tests;

/// <summary>
/// In-cluster HTTP targets on loopback (Kestrel). On <see cref="GrpcPort"/> (h2c) every gRPC call, whatever its method,
/// streams each request message back as it arrives (the bytes of the gRPC frames, so any message type echoes),
/// answers with the routing-key headers it received (<c>seen-routing-key</c>, <c>seen-baggage</c>) and ends with
/// trailers <c>grpc-status: 0</c> and <c>echoed-bytes</c>. On <see cref="WebSocketPort"/> (HTTP/1.1) a WebSocket
/// upgrade is accepted; the first message says the <c>x-routing-key</c> the upgrade request had, then every message is echoed.
/// </summary>
internal sealed class LocalKestrelEcho : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LocalKestrelEcho(WebApplication app, int grpcPort, int webSocketPort)
    {
        _app = app;
        GrpcPort = grpcPort;
        WebSocketPort = webSocketPort;
    }

    public int GrpcPort { get; }

    public int WebSocketPort { get; }

    public static async Task<LocalKestrelEcho> StartAsync()
    {
        ListenOptions? grpc = null;
        ListenOptions? webSocket = null;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            // As gRPC servers do for streaming calls: a quiet client is not too slow.
            k.Limits.MinRequestBodyDataRate = null;
            k.Listen(IPAddress.Loopback, 0, l => (grpc = l).Protocols = HttpProtocols.Http2);
            k.Listen(IPAddress.Loopback, 0, l => (webSocket = l).Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(context => context.WebSockets.IsWebSocketRequest ? EchoWebSocketAsync(context) : EchoGrpcAsync(context));
        await app.StartAsync();
        return new LocalKestrelEcho(app, grpc!.IPEndPoint!.Port, webSocket!.IPEndPoint!.Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task EchoGrpcAsync(HttpContext context)
    {
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["seen-routing-key"] = context.Request.Headers["x-routing-key"].ToString();
        context.Response.Headers["seen-baggage"] = context.Request.Headers["baggage"].ToString();
        await context.Response.Body.FlushAsync();
        var buffer = new byte[16 * 1024];
        long total = 0;
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
        {
            await context.Response.Body.WriteAsync(buffer.AsMemory(0, read));
            await context.Response.Body.FlushAsync();
            total += read;
        }

        context.Response.AppendTrailer("grpc-status", "0");
        context.Response.AppendTrailer("echoed-bytes", total.ToString(CultureInfo.InvariantCulture));
    }

    private static async Task EchoWebSocketAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await socket.SendAsync(System.Text.Encoding.UTF8.GetBytes($"seen-routing-key={context.Request.Headers["x-routing-key"]}"), WebSocketMessageType.Text, true, context.RequestAborted);
        var buffer = new byte[4096];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
                return;
            }

            await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted);
        }
    }
}
