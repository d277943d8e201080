using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Forwarder;

namespace Sandboxctl.Local.Outbound;

/// <summary>
/// The HTTP side of one exposed port: Kestrel terminates the HTTP/1.1 and h2c connections <see cref="ExposedListener"/>
/// hands over, and YARP's <see cref="IHttpForwarder"/> sends each request on, in the version it came in, with the
/// routing key added (<see cref="RoutingKeyHeaders"/>), over an HTTP client whose connections are opened through the
/// tunnel (<see cref="OutboundTunnel"/>). Streaming bodies, gRPC trailers and bidi streams, and HTTP/1.1 upgrades
/// (WebSocket) pass as YARP passes them. Kestrel is loaded only here, so other commands start as before.
/// </summary>
internal sealed class OutboundProxy : IAsyncDisposable
{
    /// <summary>How long a proxied request may be idle before it is cancelled: long, as a watch or a quiet bidi stream is idle by design.</summary>
    private static readonly TimeSpan ActivityTimeout = TimeSpan.FromDays(1);

    private static readonly ForwarderRequestConfig Http1 = new() { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact, ActivityTimeout = ActivityTimeout };
    private static readonly ForwarderRequestConfig Http2 = new() { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact, ActivityTimeout = ActivityTimeout };

    private readonly ExposedService _exposed;
    private readonly RoutingKeyTransformer _transformer;
    private readonly Action<string> _warn;
    private readonly HandedOverConnections _http1 = new();
    private readonly HandedOverConnections _http2 = new();
    private readonly HttpMessageInvoker _client;
    private readonly WebApplication _app;
    private readonly Lock _startGate = new();
    private IHttpForwarder? _forwarder;
    private Task? _starting;

    /// <summary>A proxy for <paramref name="exposed"/> whose connections go through <paramref name="tunnel"/>; <paramref name="warn"/> hears requests that could not be forwarded.</summary>
    public OutboundProxy(ExposedService exposed, OutboundTunnel tunnel, Action<string> warn)
    {
        _exposed = exposed;
        _transformer = new RoutingKeyTransformer(tunnel);
        _warn = warn;
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            // Trace headers go on as the app sent them: no traceparent or baggage of this process's own.
            ActivityHeadersPropagator = null,
            ConnectCallback = (_, cancellationToken) => tunnel.OpenAsync(cancellationToken),
        });

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // A proxy sets no limits of its own on bodies and their pace: the target and the app decide.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
            kestrel.Listen(_http1.EndPoint, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Listen(_http2.EndPoint, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddSingleton<IConnectionListenerFactory>(_http1);
        builder.Services.AddSingleton<IConnectionListenerFactory>(_http2);
        builder.Services.AddHttpForwarder();
        _app = builder.Build();
        _app.Run(ForwardAsync);
    }

    /// <summary>Starts Kestrel (once; later calls wait for the first).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_startGate)
        {
            return _starting ??= _app.StartAsync(cancellationToken);
        }
    }

    /// <summary>Gives an accepted HTTP connection to Kestrel, which owns it from here.</summary>
    public async Task HandOverAsync(Socket socket, FirstBytesKind kind, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        await StartAsync(cancellationToken).ConfigureAwait(false);
        await (kind == FirstBytesKind.Http2 ? _http2 : _http1).HandOverAsync(socket, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            if (_starting is { IsCompletedSuccessfully: true })
            {
                await _app.StopAsync(stopping.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Connections still open are cut.
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        await _http1.DisposeAsync().ConfigureAwait(false);
        await _http2.DisposeAsync().ConfigureAwait(false);
        _client.Dispose();
    }

    private async Task ForwardAsync(HttpContext context)
    {
        _forwarder ??= context.RequestServices.GetRequiredService<IHttpForwarder>();
        var request = context.Request;
        // The authority the app used goes on (the target may route by it); the connection itself goes through the tunnel.
        var authority = request.Host.HasValue ? request.Host.Value : $"{_exposed.Service}:{_exposed.Port}";
        var config = HttpProtocol.IsHttp2(request.Protocol) ? Http2 : Http1;
        var error = await _forwarder.SendAsync(context, $"http://{authority}", _client, config, _transformer).ConfigureAwait(false);
        if (error is not (ForwarderError.None or ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
            or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeResponseCanceled))
        {
            var why = context.Features.Get<IForwarderErrorFeature>()?.Exception?.GetBaseException().Message;
            _warn($"--expose {_exposed.Service}:{_exposed.Port}: {request.Method} {request.Path} was not forwarded ({error}){(why is null ? "" : $": {why}")}");
        }
    }
}
