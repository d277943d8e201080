using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace XdsControlPlane.Server.GatewayTls;

/// <summary>The gateway's HTTPS certificate: its options, the store the snapshot publisher reads, and the source that fills it.</summary>
internal static class GatewayTlsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the certificate store, and — when <paramref name="section"/> configures a source — the source (files, or
    /// the Secret in <paramref name="kubernetes"/> mode) and the gateway's HTTPS listener (<c>Translation:GatewayTls</c>).
    /// </summary>
    public static IServiceCollection AddGatewayTls(this IServiceCollection services, IConfiguration section, bool kubernetes)
    {
        services.AddSectionOptions<GatewayTlsOptions>(section, options => options.Validate(kubernetes));
        services.TryAddSingleton<GatewayCertificateStore>();
        var enabled = section.Get<GatewayTlsOptions>()?.Enabled == true;
        if (enabled)
        {
            // The listener follows the source: configured here, not by a translation setting of its own.
            services.PostConfigure<PublishOptions>(publish => publish.Translation = publish.Translation with { GatewayTls = true });
            services.AddHostedService(services =>
            {
                var options = services.GetRequiredService<IOptions<GatewayTlsOptions>>().Value;
                var store = services.GetRequiredService<GatewayCertificateStore>();
                var time = services.GetRequiredService<TimeProvider>();
                return options.Secret is not null && kubernetes
                    ? new GatewaySecretCertificateSource(services.GetRequiredService<k8s.IKubernetes>(), options, store, time, services.GetRequiredService<ILogger<GatewaySecretCertificateSource>>())
                    : (BackgroundService)new GatewayCertificateFiles(options, store, time, services.GetRequiredService<ILogger<GatewayCertificateFiles>>());
            });
        }

        return services;
    }
}
