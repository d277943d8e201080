using System.Net;
using Envoy.Service.Status.V3;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sandboxctl.Tests;

/// <summary>A CSDS server on loopback that answers with a fixed response, client text and all, as a foreign control plane might.</summary>
internal sealed class RawCsdsServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RawCsdsServer(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    public static async Task<RawCsdsServer> StartAsync(ClientStatusResponse response)
    {
        ListenOptions? listener = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listener = listen;
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(response);
        var app = builder.Build();
        app.MapGrpcService<Service>();
        await app.StartAsync();
        return new RawCsdsServer(app, listener!.IPEndPoint!.Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class Service(ClientStatusResponse response) : ClientStatusDiscoveryService.ClientStatusDiscoveryServiceBase
    {
        public override Task<ClientStatusResponse> FetchClientStatus(ClientStatusRequest request, ServerCallContext context) => Task.FromResult(response);
    }
}
