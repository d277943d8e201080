using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Kubernetes.Admission;

namespace XdsControlPlane.Server.Webhook;

/// <summary>The mutating admission webhook's parts: its options, the reviewers and their dispatcher, the certificate store and the source that fills it.</summary>
internal static class WebhookServiceCollectionExtensions
{
    /// <summary>
    /// Registers the webhook bound from <paramref name="section"/>: <see cref="CreatorReviewer"/> for Sandboxes,
    /// LocalWorkloads and PreviewGrants (recording, for grants, which preview admin groups the creator was in; other reviewers
    /// add themselves as <see cref="IAdmissionReviewer"/>), the <see cref="AdmissionDispatcher"/>, and the certificate
    /// source the settings ask for — files, the Secret (<paramref name="kubernetes"/> mode with <c>Webhook:Secret</c>) or generated.
    /// </summary>
    public static IServiceCollection AddAdmissionWebhook(this IServiceCollection services, IConfiguration section, WebhookCertificateStore store, bool kubernetes)
    {
        services.AddSectionOptions<WebhookListenerOptions>(section, webhook => webhook.Validate().Concat(ModeProblems(webhook, kubernetes)));
        services.TryAddSingleton(store);
        services.AddSingleton<IAdmissionReviewer>(CreatorReviewer.Sandboxes());
        services.AddSingleton<IAdmissionReviewer>(CreatorReviewer.LocalWorkloads());
        services.AddSingleton<IAdmissionReviewer>(services => CreatorReviewer.PreviewGrants(services.GetRequiredService<IOptions<Previews.PreviewAccessOptions>>().Value.AdminGroups));
        services.TryAddSingleton<AdmissionDispatcher>();
        services.AddHostedService(services => new WebhookCertificateHost(services, kubernetes));
        return services;
    }

    /// <summary>The settings that need the Kubernetes mode.</summary>
    private static IEnumerable<string> ModeProblems(WebhookListenerOptions webhook, bool kubernetes)
    {
        if (!kubernetes)
        {
            foreach (var (value, key, flag) in new[] { (webhook.Secret, "Secret", "secret"), (webhook.Configuration, "Configuration", "configuration"), (webhook.Service, "Service", "service") })
            {
                if (value is not null)
                {
                    yield return $"Webhook:{key} (--webhook-{flag}) applies with --kubernetes only.";
                }
            }
        }
        else if (webhook.Configuration is not null && webhook.Secret is null)
        {
            yield return "Webhook:Configuration (--webhook-configuration) needs Webhook:Secret (--webhook-secret): every replica must serve the CA the caBundle names.";
        }
    }

    /// <summary>The DNS names of a generated certificate: the configured ones (default <c>localhost</c>) and the Service's <c>name.namespace.svc</c>.</summary>
    internal static IReadOnlyList<string> DnsNames(WebhookListenerOptions webhook, string? @namespace) =>
        [.. (webhook.DnsNames.Count > 0 ? webhook.DnsNames : ["localhost"])
            .Concat(webhook.Service is { } service && @namespace is not null ? [$"{service}.{@namespace}.svc"] : [])
            .Distinct(StringComparer.Ordinal)];

    /// <summary>Starts the certificate source the validated settings ask for (none when the listener is off).</summary>
    private sealed class WebhookCertificateHost(IServiceProvider services, bool kubernetes) : IHostedService, IDisposable
    {
        private BackgroundService? _source;

        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var options = services.GetRequiredService<IOptions<WebhookListenerOptions>>().Value;
            if (!options.Enabled)
            {
                return;
            }

            var store = services.GetRequiredService<WebhookCertificateStore>();
            var time = services.GetRequiredService<TimeProvider>();
            var @namespace = kubernetes ? services.GetRequiredService<IOptions<KubernetesSourcesOptions>>().Value.LeaseNamespace : null;
            _source = options switch
            {
                { CertFile: not null } => new FileCertificateSource(options, store, time, services.GetRequiredService<ILogger<FileCertificateSource>>()),
                { Secret: not null } when kubernetes => new SecretCertificateSource(
                    services.GetRequiredService<k8s.IKubernetes>(), services.GetRequiredService<ILeadership>(), options, @namespace!, DnsNames(options, @namespace), store, time, services.GetRequiredService<ILogger<SecretCertificateSource>>()),
                _ => new GeneratedCertificateSource(options, DnsNames(options, @namespace), store, time, services.GetRequiredService<ILogger<GeneratedCertificateSource>>()),
            };
            await _source.StartAsync(cancellationToken).ConfigureAwait(false);
        }

        public Task StopAsync(CancellationToken cancellationToken) => _source?.StopAsync(cancellationToken) ?? Task.CompletedTask;

        public void Dispose() => _source?.Dispose();
    }
}
