using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Sandboxctl.Tests;

/// <summary>
/// An in-cluster gRPC target on loopback (h2c, Kestrel): every call, whatever its method, streams each request message
/// back as it arrives (the bytes of the gRPC frames, so any message type echoes), answers with the routing-key headers
/// it received (<c>seen-routing-key</c>, <c>seen-baggage</c>) and ends with trailers <c>grpc-status: 0</c> and
/// <c>echoed-bytes</c>.
/// </summary>
internal sealed class LocalGrpcEcho : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LocalGrpcEcho(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public static async Task<LocalGrpcEcho> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            // As gRPC servers do for streaming calls: a quiet client is not too slow.
            k.Limits.MinRequestBodyDataRate = null;
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2);
        });
        var app = builder.Build();
        app.Run(EchoAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new LocalGrpcEcho(app, new Uri(address).Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static async Task EchoAsync(HttpContext context)
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
}
