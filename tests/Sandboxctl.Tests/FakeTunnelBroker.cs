using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XdsControlPlane.Tunnel;
using XdsControlPlane.Tunnel.Protocol;

namespace Sandboxctl.Tests;

/// <summary>
/// A tunnel broker on loopback that speaks the protocol but misbehaves on request: it describes itself as a
/// manifests-mode broker, welcomes every Hello and then — while <see cref="DropAfterWelcome"/> — ends the stream at
/// once (a broker that welcomes and drops), else keeps it until the agent says Goodbye or goes. It counts the streams
/// (dials) and the Goodbyes it got.
/// </summary>
internal sealed class FakeTunnelBroker : TunnelBroker.TunnelBrokerBase, IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _dials;
    private int _goodbyes;

    private FakeTunnelBroker(WebApplication app) => _app = app;

    /// <summary>Whether a welcomed stream is ended at once.</summary>
    public bool DropAfterWelcome { get; set; } = true;

    /// <summary>Streams opened so far.</summary>
    public int Dials => Volatile.Read(ref _dials);

    /// <summary>Goodbye frames received so far.</summary>
    public int Goodbyes => Volatile.Read(ref _goodbyes);

    /// <summary>HOST:PORT for <c>--server</c>.</summary>
    public string Address { get; private set; } = "";

    public static async Task<FakeTunnelBroker> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        FakeTunnelBroker? broker = null;
        builder.Services.AddSingleton(_ => broker!);
        var app = builder.Build();
        broker = new FakeTunnelBroker(app);
        app.MapGrpcService<FakeTunnelBroker>();
        await app.StartAsync();
        broker.Address = new Uri(app.Urls.First()).Authority;
        return broker;
    }

    public override Task<BrokerInfo> Describe(DescribeRequest request, ServerCallContext context) => Task.FromResult(new BrokerInfo
    {
        MinVersion = TunnelProtocol.Versions.Min,
        MaxVersion = TunnelProtocol.Versions.Max,
        Mode = "manifests",
        Replica = "fake",
    });

    public override async Task Connect(IAsyncStreamReader<Frame> requestStream, IServerStreamWriter<Frame> responseStream, ServerCallContext context)
    {
        Interlocked.Increment(ref _dials);
        if (!await requestStream.MoveNext(context.CancellationToken) || requestStream.Current.Hello is not { } hello)
        {
            return;
        }

        await responseStream.WriteAsync(new Frame
        {
            Welcome = new Welcome
            {
                Version = TunnelProtocol.Versions.Max,
                Replica = "fake",
                RoutingKey = hello.Spec?.RoutingKey is { Length: > 0 } key ? key : "feature-x",
                InitialWindow = 65536,
            },
        });
        if (DropAfterWelcome)
        {
            return;
        }

        try
        {
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                if (requestStream.Current.FrameCase == Frame.FrameOneofCase.Goodbye)
                {
                    Interlocked.Increment(ref _goodbyes);
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The agent went away.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
