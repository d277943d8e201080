using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace XdsControlPlane.Xds;

/// <summary>Registers and maps the xDS server in an ASP.NET Core host.</summary>
public static class XdsServerExtensions
{
    /// <summary>
    /// Adds gRPC, the <see cref="SnapshotCache"/>, <see cref="ClientRegistry"/> and <see cref="XdsMetrics"/> (on the
    /// default Prometheus registry), each only if not registered already. The host registers the
    /// <see cref="INodeGroupResolver"/>: the server has no grouping of its own.
    /// Every <see cref="IXdsStreamCallbacks"/> registered as a singleton is called by every stream.
    /// </summary>
    public static IServiceCollection AddXdsServer(this IServiceCollection services, Action<XdsServerOptions>? configure = null)
    {
        services.AddOptions<XdsServerOptions>()
            .Configure(options => configure?.Invoke(options))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<XdsServerOptions>, XdsServerOptionsValidator>());
        services.AddGrpc(options => options.MaxSendMessageSize = null);
        LimitRequests<AggregatedDiscoveryServiceImpl>(services);
        LimitRequests<PerTypeDiscoveryServices>(services);
        LimitRequests<ClientStatusDiscoveryServiceImpl>(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SnapshotCache>();
        services.TryAddSingleton<ClientRegistry>();
        services.TryAddSingleton(_ => new XdsMetrics());
        services.TryAddSingleton<XdsStreamFactory>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<PerTypeDiscoveryServices>, PerTypeDiscoveryMethods>());
        return services;
    }

    /// <summary>Each xDS service accepts requests up to <see cref="XdsServerOptions.MaxRequestBytes"/>; other gRPC services of the host keep their own limit.</summary>
    private static void LimitRequests<TService>(IServiceCollection services)
        where TService : class =>
        services.AddOptions<GrpcServiceOptions<TService>>()
            .Configure<IOptions<XdsServerOptions>>((grpc, xds) => grpc.MaxReceiveMessageSize = xds.Value.MaxRequestBytes);

    /// <summary>Maps ADS, the per-type LDS, RDS, CDS, EDS and SDS services, and CSDS.</summary>
    /// <returns>The conventions of every xDS endpoint, so the host can restrict them (to one listener, say).</returns>
    /// <exception cref="InvalidOperationException">No <see cref="INodeGroupResolver"/> is registered.</exception>
    public static IEndpointConventionBuilder MapXdsServices(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _ = endpoints.ServiceProvider.GetService<INodeGroupResolver>()
            ?? throw new InvalidOperationException($"The xDS server needs an {nameof(INodeGroupResolver)}: register one (services.AddSingleton<{nameof(INodeGroupResolver)}, ...>()) before mapping the xDS services.");
        // Create the metrics now, so a scrape shows them before the first client connects.
        endpoints.ServiceProvider.GetRequiredService<XdsMetrics>();
        return new XdsEndpointConventions(
        [
            endpoints.MapGrpcService<AggregatedDiscoveryServiceImpl>(),
            endpoints.MapGrpcService<PerTypeDiscoveryServices>(),
            endpoints.MapGrpcService<ClientStatusDiscoveryServiceImpl>(),
        ]);
    }

    /// <summary>One convention builder over every mapped xDS service.</summary>
    private sealed class XdsEndpointConventions(IReadOnlyList<IEndpointConventionBuilder> services) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var service in services)
            {
                service.Add(convention);
            }
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var service in services)
            {
                service.Finally(finallyConvention);
            }
        }
    }
}

/// <summary>Fails start-up with every problem of <see cref="XdsServerOptions"/>.</summary>
internal sealed class XdsServerOptionsValidator : IValidateOptions<XdsServerOptions>
{
    public ValidateOptionsResult Validate(string? name, XdsServerOptions options) =>
        options.Validate().ToArray() is { Length: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
