using System.Net;
using Envoy.Config.Core.V3;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace XdsControlPlane.Xds.Tests;

/// <summary>The xDS services on a real loopback HTTP/2 socket, with a gRPC channel to them.</summary>
internal sealed class XdsTestServer : IAsyncDisposable
{
    public const string Group = "sidecar/shop";

    private readonly WebApplication _app;

    private XdsTestServer(WebApplication app, GrpcChannel channel, CollectorRegistry metrics)
    {
        _app = app;
        Channel = channel;
        MetricsRegistry = metrics;
    }

    /// <summary>This server's own Prometheus registry.</summary>
    public CollectorRegistry MetricsRegistry { get; }

    public GrpcChannel Channel { get; }

    public SnapshotCache Cache => _app.Services.GetRequiredService<SnapshotCache>();

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => _app.Services;

    public ClientRegistry Registry => _app.Services.GetRequiredService<ClientRegistry>();

    /// <summary>A node that <see cref="RoleAndClusterGroups"/> puts in <see cref="Group"/>.</summary>
    public static Node Node(string id = "envoy-1") => new() { Id = id, Cluster = "shop" };

    public static async Task<XdsTestServer> StartAsync(TimeProvider? clock = null, Action<XdsServerOptions>? configure = null, Action<IServiceCollection>? services = null, ILoggerProvider? logs = null)
    {
        ListenOptions? listener = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listener = listen;
        }));
        var metrics = Metrics.NewCustomRegistry();
        builder.Services.AddSingleton(new XdsMetrics(metrics));
        if (clock is not null)
        {
            builder.Services.AddSingleton(clock);
        }

        builder.Services.AddSingleton<INodeGroupResolver, RoleAndClusterGroups>();
        services?.Invoke(builder.Services);
        builder.Services.AddXdsServer(configure);
        var app = builder.Build();
        app.MapXdsServices();
        await app.StartAsync();
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{listener!.IPEndPoint!.Port}", new GrpcChannelOptions { MaxReceiveMessageSize = null });
        return new XdsTestServer(app, channel, metrics);
    }

    public void Publish(Snapshot snapshot)
    {
        var update = Cache.SetSnapshot(Group, snapshot);
        Assert.That(update.Problems, Is.Empty);
    }

    /// <summary>The metrics in Prometheus text format.</summary>
    public async Task<string> ScrapeAsync()
    {
        using var text = new MemoryStream();
        await MetricsRegistry.CollectAndExportAsTextAsync(text);
        return System.Text.Encoding.UTF8.GetString(text.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The tests' grouping: metadata <c>sandboxctl.io/role</c> (<c>sidecar</c> when absent or empty) and the node's cluster, as <c>role/cluster</c>.</summary>
internal sealed class RoleAndClusterGroups : INodeGroupResolver
{
    public const string RoleKey = "sandboxctl.io/role";

    public string GroupOf(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var role = node.Metadata?.Fields.TryGetValue(RoleKey, out var value) == true && value.HasStringValue && value.StringValue.Length > 0
            ? value.StringValue
            : "sidecar";
        return $"{role}/{node.Cluster}";
    }
}
