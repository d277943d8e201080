using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using XdsControlPlane.Kubernetes;
using XdsControlPlane.Sources;

namespace XdsControlPlane.Server.Previews;

/// <summary>The preview authorization service's parts: its options, the grant store and what feeds it, the session key and its source, the decider, the gRPC service.</summary>
internal static class PreviewServiceCollectionExtensions
{
    /// <summary>
    /// Registers the preview authorization service bound from <paramref name="section"/>: grants from the cluster
    /// (<paramref name="kubernetes"/>: <see cref="PreviewGrantSource"/>, session key in a Secret) or from the manifest set
    /// (<paramref name="manifests"/>: <see cref="ManifestPreviewGrants"/>, session key in a file or in memory). Needs
    /// <see cref="ServerServiceCollectionExtensions.AddSnapshotPublishing"/> (the owners in force) and the xDS server (gRPC).
    /// The session key is made or read only when <paramref name="previewsOn"/> (a preview domain is set): without previews
    /// no gateway asks for a session, and a cluster gets no Secret it does not use.
    /// </summary>
    public static IServiceCollection AddPreviewAccess(this IServiceCollection services, IConfiguration section, bool kubernetes, bool manifests, bool previewsOn)
    {
        services.AddSectionOptions<PreviewAccessOptions>(section, options => options.Validate());
        services.TryAddSingleton<PreviewGrantStore>();
        services.TryAddSingleton<PreviewSessionKey>();
        services.TryAddSingleton(_ => new PreviewAccessMetrics());
        services.TryAddSingleton(services => new PreviewAccessDecider(
            services.GetRequiredService<PreviewGrantStore>(),
            services.GetRequiredService<RoutingInputsStore>(),
            services.GetRequiredService<IOptions<PreviewAccessOptions>>().Value,
            creatorsRecorded: kubernetes && services.GetRequiredService<IOptions<Webhook.WebhookListenerOptions>>().Value.Enabled));
        services.AddGrpc().AddServiceOptions<PreviewAuthorizationService>(grpc => grpc.MaxReceiveMessageSize = PreviewAuthorizationService.MaxRequestBytes);
        if (kubernetes)
        {
            services.AddHostedService(services =>
            {
                var logger = services.GetRequiredService<ILogger<PreviewGrantSource>>();
                return new PreviewGrantSource(
                    services.GetRequiredService<k8s.IKubernetes>(),
                    services.GetRequiredService<KubernetesInformers>(),
                    services.GetRequiredService<PreviewGrantStore>(),
                    services.GetRequiredService<IOptions<KubernetesSourcesOptions>>().Value.Namespaces,
                    (grant, problems) => PreviewAccessLog.InvalidGrant(logger, grant.Metadata.Namespace, grant.Metadata.Name, string.Join("; ", problems.Select(p => $"{p.FieldPath}: {p.Reason}"))));
            });
            if (previewsOn)
            {
                services.AddHostedService(services => new SecretPreviewSessionKeySource(
                    services.GetRequiredService<k8s.IKubernetes>(),
                    services.GetRequiredService<ILeadership>(),
                    services.GetRequiredService<PreviewSessionKey>(),
                    services.GetRequiredService<IOptions<KubernetesSourcesOptions>>().Value.LeaseNamespace,
                    services.GetRequiredService<IOptions<PreviewAccessOptions>>().Value.SessionKeySecret,
                    services.GetRequiredService<TimeProvider>(),
                        services.GetRequiredService<ILogger<SecretPreviewSessionKeySource>>()));
            }
        }
        else
        {
            if (manifests)
            {
                services.AddHostedService<ManifestPreviewGrants>();
            }

            if (previewsOn)
            {
                services.AddHostedService<LocalSessionKey>();
            }
        }

        return services;
    }

    /// <summary>Outside a cluster: the session key from <see cref="PreviewAccessOptions.SessionKeyFile"/> (made when absent), else one in memory. A key file that cannot be read stops the start.</summary>
    private sealed class LocalSessionKey(PreviewSessionKey key, IOptions<PreviewAccessOptions> options, ILogger<LocalSessionKey> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (options.Value.SessionKeyFile is { } file)
            {
                key.Set(PreviewSessionKey.FromFile(file));
                PreviewAccessLog.SessionKeyLoaded(logger, file);
            }
            else
            {
                key.Set(PreviewSessionKey.Generate());
                PreviewAccessLog.SessionKeyInMemory(logger);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
