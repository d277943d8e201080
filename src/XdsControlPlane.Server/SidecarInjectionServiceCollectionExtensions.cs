using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using XdsControlPlane.Kubernetes.Admission;
using XdsControlPlane.Kubernetes.Admission.Injection;

namespace XdsControlPlane.Server;

/// <summary>Registers the sidecar injector (<see cref="PodSidecarInjector"/>) as the mutating webhook's reviewer of pods.</summary>
public static class SidecarInjectionServiceCollectionExtensions
{
    /// <summary>
    /// <see cref="SidecarInjectionOptions"/> bound from <paramref name="section"/> (configuration section
    /// <c>Injection</c>; flags <c>--inject-*</c>), checked when the host starts — also against the translation's
    /// sidecar outbound port, which the proxy's capture port must equal — and the <see cref="PodSidecarInjector"/> as
    /// an <see cref="IAdmissionReviewer"/>.
    /// </summary>
    public static IServiceCollection AddSidecarInjection(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddSectionOptions<SidecarInjectionOptions>(section, options => options.Validate())
            .Validate<IOptions<PublishOptions>>(
                (injection, publish) => injection.OutboundCapturePort == publish.Value.Translation.SidecarOutboundPort,
                "Injection:OutboundCapturePort must equal Translation:SidecarOutboundPort (the port the sidecar's virtualOutbound listener takes redirected connections on).");
        services.TryAddSingleton<PodSidecarInjector>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAdmissionReviewer, PodSidecarInjector>(services => services.GetRequiredService<PodSidecarInjector>()));
        return services;
    }
}
