using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using XdsControlPlane.Kubernetes.Admission;
using XdsControlPlane.Kubernetes.Admission.Injection;
using XdsControlPlane.Server.ListenerTls;
using XdsControlPlane.Server.Webhook;

namespace XdsControlPlane.Server;

/// <summary>Registers the sidecar injector (<see cref="PodSidecarInjector"/>) as the mutating webhook's reviewer of pods.</summary>
public static class SidecarInjectionServiceCollectionExtensions
{
    /// <summary>
    /// <see cref="SidecarInjectionOptions"/> bound from <paramref name="section"/> (configuration section
    /// <c>Injection</c>; flags <c>--inject-*</c>), checked when the host starts — also against the translation's
    /// sidecar outbound port, which the proxy's capture port must equal — and the <see cref="PodSidecarInjector"/> as
    /// an <see cref="IAdmissionReviewer"/>. With <paramref name="tokenReview"/> (section <c>Xds:TokenReview</c>) on and
    /// the xDS CA known (<c>Injection:XdsCaFile</c>), injected proxies send a projected ServiceAccount token of its
    /// audience; <c>Required</c> with the webhook on and no CA fails the start, since every injected proxy would be refused.
    /// </summary>
    public static IServiceCollection AddSidecarInjection(this IServiceCollection services, IConfiguration section, IConfiguration? tokenReview = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        var tokens = new TokenReviewOptions();
        tokenReview?.Bind(tokens);
        services.AddSectionOptions<SidecarInjectionOptions>(section, options => options.Validate())
            .Configure(injection =>
            {
                if (tokens.Enabled && !injection.SendsXdsToken && !string.IsNullOrEmpty(injection.XdsCaFile))
                {
                    injection.XdsTokenAudience = tokens.Audience;
                }
            })
            .Validate<IOptions<PublishOptions>>(
                (injection, publish) => injection.OutboundCapturePort == publish.Value.Translation.SidecarOutboundPort,
                "Injection:OutboundCapturePort must equal Translation:SidecarOutboundPort (the port the sidecar's virtualOutbound listener takes redirected connections on).")
            .Validate<IOptions<WebhookListenerOptions>>(
                (injection, webhook) => tokens.Mode != TokenReviewMode.Required || !webhook.Value.Enabled || injection.SendsXdsToken,
                "Xds:TokenReview:Mode (--xds-token-review) is Required, so every injected proxy must send a ServiceAccount token, which it sends over TLS only: "
                + "give Injection:XdsCaFile (--inject-xds-ca-file, the CA the xDS listener's certificate chains to), use Optional, or turn the webhook off (--webhook-port 0).")
            .Validate(
                injection => !tokens.Enabled || !injection.SendsXdsToken || injection.XdsTokenAudience == tokens.Audience,
                "Injection:XdsTokenAudience must equal Xds:TokenReview:Audience (--xds-token-audience), or injected proxies' tokens are refused; leave it unset to take the server's.");
        if (tokens.Enabled)
        {
            services.AddHostedService(provider => new XdsTokenAnnouncement(
                tokens.Mode,
                provider.GetRequiredService<IOptions<SidecarInjectionOptions>>().Value,
                provider.GetRequiredService<IOptions<WebhookListenerOptions>>().Value.Enabled,
                provider.GetRequiredService<ILogger<PodSidecarInjector>>()));
        }

        services.TryAddSingleton<PodSidecarInjector>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAdmissionReviewer, PodSidecarInjector>(services => services.GetRequiredService<PodSidecarInjector>()));
        return services;
    }

    /// <summary>Says on start, with token review and the webhook on, whether injected proxies send a token.</summary>
    private sealed class XdsTokenAnnouncement(TokenReviewMode mode, SidecarInjectionOptions injection, bool webhook, ILogger logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (webhook && injection.SendsXdsToken)
            {
                SidecarInjectionLog.ProxiesSendToken(logger, injection.XdsTokenAudience!, injection.XdsTokenExpirationSeconds, PodSidecarInjector.XdsTokenFile);
            }
            else if (webhook)
            {
                SidecarInjectionLog.ProxiesSendNoToken(logger, mode);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
